using System.Globalization;
using Microsoft.Extensions.Options;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Keys;

namespace RelayKit.AspNetCore.Admin;

/// <summary>Checks <c>ModelRelay:Admin</c> at start.</summary>
/// <param name="settingsPath">The relay's configuration section, such as <c>ModelRelay</c>.</param>
internal sealed class ModelRelayAdminOptionsValidator(string settingsPath) : IValidateOptions<ModelRelayOptions>
{
    public ValidateOptionsResult Validate(string? name, ModelRelayOptions options)
    {
        var admin = options.Admin;
        var failures = new List<string>();
        if (admin.TrialCredit is < 0 or > BudgetLedger.MaxBalance || !BudgetLedger.IsAtScale(admin.TrialCredit))
        {
            failures.Add($"{settingsPath}:Admin:TrialCredit must be between 0 and {BudgetLedger.MaxBalance.ToString("N0", CultureInfo.InvariantCulture)} US dollars, with at most {BudgetLedger.AmountScale} decimal places.");
        }

        if (admin.KeyCacheDuration < TimeSpan.Zero)
        {
            failures.Add($"{settingsPath}:Admin:KeyCacheDuration must not be negative.");
        }

        if (!string.IsNullOrEmpty(admin.KeySha256) && !RelayKeyHash.TryParseHex(admin.KeySha256, out _))
        {
            failures.Add($"{settingsPath}:Admin:KeySha256 must be 64 hexadecimal digits (the SHA-256 of the admin key).");
        }

        if (admin.Key is { Length: > 0 and < 16 })
        {
            failures.Add($"{settingsPath}:Admin:Key must be at least 16 characters long.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
