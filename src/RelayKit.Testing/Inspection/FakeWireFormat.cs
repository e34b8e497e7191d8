namespace RelayKit.Testing;

/// <summary>The wire format a request to the fake upstream speaks, which decides the shape of every answer.</summary>
public enum FakeWireFormat
{
    /// <summary>OpenAI's format: errors as <c>{"error":{message,type,param,code}}</c>.</summary>
    OpenAI,

    /// <summary>Anthropic's format: errors as <c>{"type":"error","error":{type,message}}</c>.</summary>
    Anthropic,
}
