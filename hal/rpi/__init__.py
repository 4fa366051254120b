"""The rpi backend: real GPIO (gpiozero over lgpio or RPi.GPIO), I2C and ALSA on the Pi."""
