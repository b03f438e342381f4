using TrustLaunch.Oci.Golden;
using TrustLaunch.Oci.Signing;

namespace TrustLaunch.Agent.Launcher;

/// <summary>
/// How a launcher on this node judges images: locally against <see cref="Trust"/> (publisher keys, PEM file or
/// directory) and <see cref="TrustPolicy"/>, or remotely by <see cref="Verifier"/> (an mTLS client of the verifier's
/// agent port, owned by the caller) for agent <see cref="AgentId"/>; in both modes behind the containers-policy.json
/// <see cref="SignaturePolicy"/> with the signature stores of <see cref="RegistriesD"/> (null: the defaults under
/// <c>/etc/containers</c>, the policy only when it exists).
/// </summary>
public sealed record ImageJudgeOptions(string AgentId)
{
    public string? Trust { get; init; }
    public string? TrustPolicy { get; init; }
    public HttpClient? Verifier { get; init; }
    public string? SignaturePolicy { get; init; }
    public string? RegistriesD { get; init; }
}

/// <summary>The one place the agent builds its image judge, for <c>trustlaunch run</c> through the agent and for the CRI endpoint alike.</summary>
public static class ImageJudges
{
    /// <exception cref="ArgumentException">Local mode without publisher keys.</exception>
    /// <exception cref="FormatException">A malformed trust policy (or one requiring a signer that is not trusted), signature policy or registries.d.</exception>
    /// <exception cref="FileNotFoundException">A named file that does not exist.</exception>
    public static IImageJudge Create(ImageJudgeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return SignaturePolicyJudge.Wrap(options.Verifier is { } verifier ? new RemoteImageJudge(verifier, options.AgentId) : Local(options),
            options.SignaturePolicy, options.RegistriesD);
    }

    private static LocalImageJudge Local(ImageJudgeOptions options)
    {
        var trusted = TrustedKeys.Load(options.Trust ?? throw new ArgumentException("local mode needs trust (the publisher keys)"));
        return new LocalImageJudge(trusted, policy: options.TrustPolicy is null ? GoldenTrustPolicy.Default : GoldenTrustPolicy.Load(options.TrustPolicy, trusted.KeyIds));
    }
}
