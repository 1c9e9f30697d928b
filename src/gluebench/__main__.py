import sys

from gluebench.cli import main

sys.exit(main())
