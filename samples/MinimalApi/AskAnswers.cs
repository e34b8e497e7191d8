namespace RelayKit.Samples.MinimalApi;

/// <summary>The <c>/ask</c> endpoint's answer: the question and what each model said.</summary>
/// <param name="Question">The question asked.</param>
/// <param name="Gpt">The answer of gpt-5.5.</param>
/// <param name="Claude">The answer of claude-code-opus-4.8.</param>
public sealed record AskAnswers(string Question, string Gpt, string Claude);
