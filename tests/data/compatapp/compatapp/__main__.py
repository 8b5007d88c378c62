import sys

from compatapp.check import main

sys.exit(main(sys.argv[1:]))
