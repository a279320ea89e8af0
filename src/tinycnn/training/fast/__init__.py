"""Speed, kept apart so the plain training path reads like a textbook loop.

`speed`: the options that change no result in meaning (fast dropout and pooling, memory reuse,
bf16 where the CPU computes it) and the record of which were used; `fastops`: the modules behind
them; `native`: kernels.c (ReLU + dropout + pool in one C pass), built and loaded with ctypes;
`cudagraph`: one captured CUDA graph per SGD step; `replicas`: S seeds as one stacked model.
"""
