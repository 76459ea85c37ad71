"""The server's routes, one file by what they are for: predict, oip (Open Inference Protocol v2), admin."""
