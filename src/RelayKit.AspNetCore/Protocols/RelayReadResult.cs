namespace RelayKit.AspNetCore.Protocols;

/// <summary>The policy fields of a request, or why they could not be read.</summary>
internal readonly record struct RelayReadResult(RelayRequestFields? Fields, RelayError? Error)
{
    public static implicit operator RelayReadResult(RelayRequestFields fields) => new(fields, null);

    public static implicit operator RelayReadResult(RelayError error) => new(null, error);
}
