"""`python -m citypulse.cli ...`, as `up` runs the dispatcher and the simulator."""

import sys

from citypulse.cli.main import main

sys.exit(main())
