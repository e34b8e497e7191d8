using RelayKit.AspNetCore.Routing;

namespace RelayKit.AspNetCore.Tests.Routing;

public sealed class ModelPatternTests
{
    [Theory]
    [InlineData("gpt-*", "gpt-5.5", true)]
    [InlineData("gpt-*", "GPT-4o", true)]
    [InlineData("gpt-*", "gpt-", true)]
    [InlineData("gpt-*", "chatgpt-4o", false)]
    [InlineData("*-mini", "o4-mini", true)]
    [InlineData("*-mini", "o4-mini-high", false)]
    [InlineData("o*-mini", "o3-mini", true)]
    [InlineData("o*-mini", "gpt-4o-mini", false)]
    [InlineData("accounts/*/models/*", "accounts/fireworks/models/llama", true)]
    [InlineData("a*b*c", "axxbyyc", true)]
    [InlineData("a*b*c", "axxbyy", false)]
    [InlineData("*", "anything", true)]
    [InlineData("gpt-5.5", "gpt-5.5", true)]
    [InlineData("gpt-5.5", "gpt-5.55", false)]
    public void Matches_names_by_wildcard_without_regard_to_case(string pattern, string model, bool expected)
    {
        Assert.Equal(expected, ModelPattern.Parse(pattern).Matches(model));
    }

    [Fact]
    public void A_longer_literal_is_more_specific()
    {
        Assert.True(ModelPattern.Parse("gpt-5*").Specificity > ModelPattern.Parse("gpt-*").Specificity);
        Assert.True(ModelPattern.Parse("gpt-*").IsWildcard);
        Assert.False(ModelPattern.Parse("gpt-5").IsWildcard);
    }
}
