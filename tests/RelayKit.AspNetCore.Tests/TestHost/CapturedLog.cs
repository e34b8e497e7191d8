using Microsoft.Extensions.Logging;

namespace RelayKit.AspNetCore.Tests.TestHost;

/// <summary>One record a <see cref="CapturingLoggerProvider"/> received.</summary>
/// <param name="Category">The logger's category.</param>
/// <param name="Level">The record's level.</param>
/// <param name="EventName">The event's name, if it has one.</param>
/// <param name="Message">The formatted message.</param>
/// <param name="State">The structured state as <c>key=value;…</c>.</param>
public sealed record CapturedLog(string Category, LogLevel Level, string? EventName, string Message, string State);
