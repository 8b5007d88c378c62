import sys

from compatcheck.check import main

sys.exit(main(sys.argv[1:]))
