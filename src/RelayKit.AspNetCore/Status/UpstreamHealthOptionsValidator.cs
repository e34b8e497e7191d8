using Microsoft.Extensions.Options;

namespace RelayKit.AspNetCore.Status;

/// <summary>Validates <see cref="UpstreamHealthOptions"/> at start (source-generated from its attributes).</summary>
[OptionsValidator]
internal sealed partial class UpstreamHealthOptionsValidator : IValidateOptions<UpstreamHealthOptions>;
