namespace TrustLaunch.Agent.Cri;

/// <summary>
/// <c>serve agent --cri-listen unix:///PATH --cri-backend unix:///PATH</c> and how the endpoint judges images: locally
/// against <see cref="Trust"/> (publisher keys, optionally a golden trust policy), or remotely by
/// <see cref="Verifier"/> (the verifier's agent-facing URL).
/// </summary>
public sealed record CriSettings(string Listen, string Backend, string? Trust, string? TrustPolicy, string? Verifier, IReadOnlyList<string> Mirrors)
{
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
