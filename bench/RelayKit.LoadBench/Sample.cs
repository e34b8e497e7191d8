namespace RelayKit.LoadBench;

/// <summary>One request's outcome; times in Stopwatch ticks.</summary>
internal readonly record struct Sample(bool Ok, long Latency, long FirstByte, string? Error);
