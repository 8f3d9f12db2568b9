/// The geometry of one 2D image in patient space, as DICOM's Image Plane module describes it.
public struct ImagePlane: Sendable, Equatable, Codable {
    /// ImagePositionPatient: the centre of the first transmitted pixel.
    public var position: Vector3
    /// First ImageOrientationPatient triplet: direction of increasing column index (along a row).
    public var rowDirection: Vector3
    /// Second ImageOrientationPatient triplet: direction of increasing row index (down a column).
    public var columnDirection: Vector3
    /// PixelSpacing as DICOM orders it: (between rows, between columns) in mm.
    public var pixelSpacing: SIMD2<Double>
    public var rows: Int
    public var columns: Int

    public init(position: Vector3, rowDirection: Vector3, columnDirection: Vector3,
                pixelSpacing: SIMD2<Double>, rows: Int, columns: Int) {
        self.position = position
        self.rowDirection = rowDirection
        self.columnDirection = columnDirection
        self.pixelSpacing = pixelSpacing
        self.rows = rows
        self.columns = columns
    }

    /// Unit normal, row × column.
    public var normal: Vector3 { rowDirection.cross(columnDirection).normalized }

    /// Patient coordinate of the centre of pixel (column c, row r).
    public func point(column c: Double, row r: Double) -> Vector3 {
        position + rowDirection * (c * pixelSpacing.y) + columnDirection * (r * pixelSpacing.x)
    }

    /// Continuous (column, row, distance along normal) of a patient-space point.
    public func pixelCoordinate(of p: Vector3) -> Vector3 {
        let d = p - position
        return Vector3(d.dot(rowDirection) / pixelSpacing.y, d.dot(columnDirection) / pixelSpacing.x, d.dot(normal))
    }

    /// The dominant anatomical orientation of this plane.
    public var orientation: PlaneOrientation { PlaneOrientation(normal: normal) }
}

/// Which of the three anatomical planes an image lies closest to.
public enum PlaneOrientation: String, Sendable, Codable, CaseIterable {
    case sagittal, coronal, axial

    /// Classifies by the largest component of the plane normal (LPS: x = sagittal normal, y = coronal, z = axial).
    public init(normal: Vector3) {
        let a = Vector3(abs(normal.x), abs(normal.y), abs(normal.z))
        if a.x >= a.y && a.x >= a.z { self = .sagittal } else if a.y >= a.z { self = .coronal } else { self = .axial }
    }
}
