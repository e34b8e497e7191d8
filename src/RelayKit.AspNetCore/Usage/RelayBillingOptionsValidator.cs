using Microsoft.Extensions.Options;

namespace RelayKit.AspNetCore.Usage;

/// <summary>Validates <see cref="RelayBillingOptions"/> at start (source-generated from its attributes).</summary>
[OptionsValidator]
internal sealed partial class RelayBillingOptionsValidator : IValidateOptions<RelayBillingOptions>;
