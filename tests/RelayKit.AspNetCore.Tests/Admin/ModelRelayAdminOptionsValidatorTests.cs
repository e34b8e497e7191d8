using Microsoft.Extensions.Options;

namespace RelayKit.AspNetCore.Tests.Admin;

public sealed class ModelRelayAdminOptionsValidatorTests
{
    [Theory]
    [InlineData("ModelRelay:Admin:TrialCredit", "-1", "TrialCredit must be between 0 and 1,000,000,000,000 US dollars, with at most 15 decimal places")]
    [InlineData("ModelRelay:Admin:TrialCredit", "1000000000001", "TrialCredit must be between 0 and 1,000,000,000,000 US dollars, with at most 15 decimal places")]
    [InlineData("ModelRelay:Admin:KeySha256", "abc", "KeySha256 must be 64 hexadecimal digits")]
    [InlineData("ModelRelay:Admin:Key", "short", "Key must be at least 16 characters")]
    [InlineData("ModelRelay:Admin:KeyCacheDuration", "-00:00:01", "KeyCacheDuration must not be negative")]
    public async Task A_bad_admin_setting_stops_the_host_at_start(string setting, string value, string message)
    {
        await using var app = new AdminRelayApp(AdminStorage.InMemory, s => s[setting] = value);

        var failure = Assert.Throws<OptionsValidationException>(() => app.CreateClient());

        Assert.Contains(message, failure.Message, StringComparison.Ordinal);
    }
}
