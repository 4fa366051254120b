"""The view: model -> what the display, LEDs and backlight show. Pure functions."""
