import Foundation
import SpinePlanGeometry

/// The training-friendly copy of a phantom: `image.npy` (float32), `labels.npy` (uint8) and `volume.json`.
///
/// Arrays have shape (k, j, i): `image[k, j, i]` is voxel (i, j, k), and `voxel_to_lps` maps (i, j, k, 1) to LPS.
enum VolumeExport {
    /// The affine and label scheme that accompany the arrays.
    struct Description: Encodable {
        var shape: [Int]
        var axisOrder = "k,j,i"
        var voxelToLPS: [[Double]]
        var spacingMillimetres = 1.0
        var weighting: String
        var image = "image.npy"
        var labels = "labels.npy"
        var labelScheme: [String: Int]

        enum CodingKeys: String, CodingKey {
            case shape
            case axisOrder = "axis_order"
            case voxelToLPS = "voxel_to_lps"
            case spacingMillimetres = "spacing_mm"
            case weighting, image, labels
            case labelScheme = "label_scheme"
        }
    }

    static func write(_ phantom: Phantom, lookup: [Float], to directory: String) throws(ScannerError) {
        try SessionSynthesizer.makeDirectory(directory)
        let grid = phantom.tissue.grid
        let shape = [grid.size.z, grid.size.y, grid.size.x]
        let image = phantom.tissue.voxels.map { lookup[Int($0)] }
        try NumpyArrayFile.write(image, shape: shape, to: (directory as NSString).appendingPathComponent("image.npy"))
        try NumpyArrayFile.write(phantom.labels.voxels, shape: shape,
                                 to: (directory as NSString).appendingPathComponent("labels.npy"))
        let scheme = labelScheme(column: phantom.anatomy.column)
        let description = Description(shape: shape, voxelToLPS: grid.affineRows,
                                      weighting: lookup[Int(TissueClass.csf.rawValue)] > lookup[Int(TissueClass.fat.rawValue)] ? "t2" : "t1",
                                      labelScheme: scheme)
        try SessionSynthesizer.writeJSON(description, to: (directory as NSString).appendingPathComponent("volume.json"))
    }

    /// Label value of every structure in a column, e.g. `"L4": 9, "L4/L5": 29, "dural_sac": 40`.
    static func labelScheme(column: [SpineLevel]) -> [String: Int] {
        var scheme: [String: Int] = ["background": 0, "dural_sac": Int(SpineLevel.duralSacLabel)]
        for (index, level) in column.enumerated() {
            scheme[level.name] = Int(level.rawValue)
            if index + 1 < column.count { scheme[level.discName(above: column[index + 1])] = Int(level.discLabelBelow) }
        }
        return scheme
    }
}
