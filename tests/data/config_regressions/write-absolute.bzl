# wrote during list-targets
FileContent(filename = 'x.txt', content = 'x').write_to_directory('/tmp/pyoxidizer-py-regression-write')
