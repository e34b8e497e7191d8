using System.Text.Json.Nodes;

namespace RelayKit.AspNetCore.Translation.Errors;

/// <summary>An upstream error restated in the caller's wire format.</summary>
/// <param name="Status">The HTTP status the caller's SDK acts on.</param>
/// <param name="Body">The error body in the caller's shape.</param>
internal sealed record TranslatedError(int Status, JsonObject Body);
