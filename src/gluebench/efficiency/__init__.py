"""Model efficiency: parameters, size, FLOPs, latency, throughput, memory, int8/ONNX variants."""
