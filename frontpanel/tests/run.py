"""The panel's own tests, on the MicroPython unix port with micropython-lib's unittest:

    MICROPYPATH=frontpanel/sim:frontpanel:frontpanel/lib:hal/frontpanel:frontpanel/tests \
        micropython frontpanel/tests/run.py

(tests/unit/test_frontpanel.py runs it). Exits 1 if a test fails."""
import sys

import unittest

MODULES = ("test_fpcodec", "test_keyscan", "test_panel")


def main():
    suite = unittest.TestSuite()
    for name in MODULES:
        m = __import__(name)
        for attr in dir(m):
            c = getattr(m, attr)
            if (isinstance(c, type) and issubclass(c, unittest.TestCase)
                    and c is not unittest.TestCase):
                suite.addTest(c)
    result = unittest.TestRunner().run(suite)
    for text in result.exceptions:
        print("-" * 70)
        print(text)
    sys.exit(0 if result.wasSuccessful() else 1)


main()
