using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using RelayKit.AspNetCore.Protocols;
using RelayKit.AspNetCore.Translation.Requests;

namespace RelayKit.AspNetCore.Translation.Relay;

/// <summary>
/// The Forward step's "other format" branch: restates the caller's request for an upstream of the other
/// wire format and sets up the transform that restates the answer. Chat Completions ⇄ Messages both ways,
/// and Responses → Messages; other pairs (embeddings, token counting) have no counterpart to translate to.
/// </summary>
internal static class RequestTranslation
{
    /// <summary>
    /// Translates the caller's body for <paramref name="upstreamFormat"/> into <see cref="RelayRequestContext.Translation"/>
    /// (with what the answer's translator needs: <see cref="Forwarding.ResponseChain.For"/>); returns the 400 to answer when a field cannot be carried over. A request to
    /// Anthropic without an output cap gets <paramref name="configuredMaxTokens"/> (the route's configured
    /// <c>MaxOutputTokens</c>), else <see cref="RequestTranslationOptions.StandardMaxTokens"/>.
    /// </summary>
    public static RelayError? Apply(RelayRequestContext context, WireFormat upstreamFormat, string upstreamModel, int? configuredMaxTokens = null, string? callerModel = null)
    {
        var callerBody = (JsonObject)JsonNode.Parse(context.Body!.Raw.Span)!;
        foreach (var field in Routing.RouteSteering.Fields)
        {
            // The relay's own routing fields: read by routing, never part of the request to translate.
            callerBody.Remove(field);
        }

        var options = new RequestTranslationOptions(upstreamModel, configuredMaxTokens ?? RequestTranslationOptions.StandardMaxTokens);
        JsonObject translated;
        try
        {
            translated = context.Operation.TranslateBody(callerBody, options);
        }
        catch (TranslationException ex)
        {
            return new RelayError(StatusCodes.Status400BadRequest, RelayErrorKind.InvalidRequest, "untranslatable_field",
                $"This request cannot be translated for a model served in the {(upstreamFormat == WireFormat.Anthropic ? "Anthropic" : "OpenAI")} format: {ex.Message}",
                ex.Field);
        }

        var raw = JsonSerializer.SerializeToUtf8Bytes(translated);
        context.Translation = new TranslatedRequest(
            upstreamFormat, context.Operation.On(upstreamFormat)!.UpstreamPath, new RelayRequestBody(raw, JsonDocument.Parse(raw)), callerBody, callerModel ?? context.Fields!.Model);
        return null;
    }
}
