using Microsoft.Extensions.Options;

namespace RelayKit.AspNetCore.Usage;

/// <summary>Validates <see cref="UsageOptions"/> at start (source-generated from its attributes).</summary>
[OptionsValidator]
internal sealed partial class UsageOptionsValidator : IValidateOptions<UsageOptions>;
