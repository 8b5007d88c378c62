# install("../..") resolved above the build path, and `build` emptied that directory (replace = True)
def files():
    m = FileManifest()
    m.add_file(FileContent(filename = "x.txt", content = "x"))
    m.install("../..")
    return m

m = FileManifest()
m.install("../..")
register_target("files", files, default = True)
resolve_targets()
