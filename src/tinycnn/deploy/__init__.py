"""Using a trained run: predict your own images, export to ONNX, serve a draw-a-digit page."""
