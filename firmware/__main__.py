import sys

from firmware.app.main import main

sys.exit(main())
