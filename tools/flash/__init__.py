"""Field flashing over the phone's serial console (host side): ./flash.sh PORT IMAGE."""
