"""The front panel: keypad, hook, LEDs and LCD on a microcontroller (frontpanel/, MicroPython)
over a framed UART link (fpcodec); the "frontpanel" backend drives them from the Pi."""
