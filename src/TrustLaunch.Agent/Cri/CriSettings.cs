using TrustLaunch.Oci.Registry;

namespace TrustLaunch.Agent.Cri;

/// <summary>
/// <c>serve agent --cri-listen unix:///PATH --cri-backend unix:///PATH</c> and how the endpoint judges images: locally
/// against <see cref="Trust"/> (publisher keys, optionally a golden trust policy), or remotely by
/// <see cref="Verifier"/> (the verifier's agent-facing URL); in both modes behind the containers-policy.json
/// <see cref="SignaturePolicy"/> and <see cref="RegistriesD"/>, reading registries with the settings users keep for
/// podman and skopeo (<see cref="AuthFile"/>, <see cref="RegistriesConf"/>, <see cref="CertsDir"/>), as
/// <c>trustlaunch run</c> does. Null = the defaults under <c>/etc/containers</c>; all read once, when the agent starts.
/// </summary>
public sealed record CriSettings(string Listen, string Backend, string? Trust, string? TrustPolicy, string? Verifier, IReadOnlyList<string> Mirrors)
{
    public string? SignaturePolicy { get; init; }
    public string? RegistriesD { get; init; }
    public string? AuthFile { get; init; }
    public string? RegistriesConf { get; init; }
    public string? CertsDir { get; init; }

    /// <summary>The registry settings files read now (a missing named file or a malformed one throws).</summary>
    public RegistryClientOptions RegistryOptions() => RegistryClientOptions.FromSettingsFiles(AuthFile, RegistriesConf, CertsDir);

    /// <summary>Every problem at once, empty when usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        foreach (var (value, option) in new[] { (Listen, "--cri-listen"), (Backend, "--cri-backend") })
        {
            try
            {
                CriOptions.SocketPath(value, option);
            }
            catch (ArgumentException e)
            {
                errors.Add(e.Message);
            }
        }
        if ((Trust is null) == (Verifier is null))
            errors.Add("the CRI endpoint judges images either locally (--cri-trust KEYS) or by the verifier (--cri-verifier URL): give exactly one");
        if (Verifier is not null && (!Uri.TryCreate(Verifier, UriKind.Absolute, out var verifier) || verifier.Scheme != Uri.UriSchemeHttps))
            errors.Add($"CRI verifier '{Verifier}' is not an https:// URL");
        if (TrustPolicy is not null && Trust is null)
            errors.Add("--cri-trust-policy needs --cri-trust (local mode)");
        try
        {
            CriOptions.ParseMirrors(Mirrors);
        }
        catch (ArgumentException e)
        {
            errors.Add(e.Message);
        }
        return errors;
    }
}
