"""Physical home model and device simulators speaking the real protocols on loopback."""
