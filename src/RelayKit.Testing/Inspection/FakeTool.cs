using System.Text.Json.Nodes;

namespace RelayKit.Testing;

/// <summary>A function tool that a request offered to the model.</summary>
/// <param name="Name">The tool's name.</param>
/// <param name="Parameters">The JSON schema of its arguments, if the request gave one.</param>
public sealed record FakeTool(string Name, JsonNode? Parameters);
