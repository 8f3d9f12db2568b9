print("spineplan")
