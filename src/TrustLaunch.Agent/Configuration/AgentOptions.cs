using System.Net;

namespace TrustLaunch.Agent.Configuration;

/// <summary>
/// What <c>trustlaunch serve agent</c> is configured with. <see cref="Validate"/> names every problem at once so the
/// operator fixes the command line in one go.
/// </summary>
public sealed class AgentOptions
{
    public const string DefaultListen = "127.0.0.1:9002";
    public const uint DefaultAkHandle = 0x8101_0002;

    /// <summary>The agent id: a UUID, lowercase in every message and registration.</summary>
    public string AgentId { get; set; } = "";

    public string DataDirectory { get; set; } = "";

    /// <summary>A TCTI-style TPM spec (<c>swtpm:host=H,port=P</c>, <c>device:PATH</c>); null for the default.</summary>
    public string? Tpm { get; set; }

    public int LaunchPcr { get; set; } = Measurement.LaunchPcr.Default;

    /// <summary>Where the AK is persisted in the owner hierarchy.</summary>
    public uint AkHandle { get; set; } = DefaultAkHandle;

    /// <summary>Base URL of the registrar's agent port, e.g. <c>https://127.0.0.1:8890</c>.</summary>
    public string Registrar { get; set; } = "";

    /// <summary>host:port of the mTLS attestation API.</summary>
    public string Listen { get; set; } = DefaultListen;

    /// <summary>host:port the verifier should use to reach this agent; defaults to <see cref="Listen"/>.</summary>
    public string? AdvertisedAddress { get; set; }

    /// <summary>
    /// Push mode: base URL of the verifier's agent-facing port (e.g. <c>https://verifier:8880</c>) the agent posts its
    /// evidence to; null when the verifier polls the agent.
    /// </summary>
    public string? PushVerifier { get; set; }

    /// <summary>Base URL of the key broker (<c>https://HOST:8080</c>) the agent attests to for <c>kbs:///</c>
    /// resources; its certificate must chain to the agent's CA and carry the kbs role. Null: no broker.</summary>
    public string? Kbs { get; set; }

    /// <summary>Directory of <c>KID.pem</c> P-256 public keys whose sealed secrets the agent opens (through
    /// <see cref="Kbs"/>). Null: <c>POST /v1/secret/unseal</c> refuses every sealed secret.</summary>
    public string? SecretTrust { get; set; }

    /// <summary>The local measure API's unix socket; defaults to <c>DATA/agent.sock</c>.</summary>
    public string? SocketPath { get; set; }

    /// <summary>The CRI endpoint in front of containerd; null when the agent serves none.</summary>
    public Cri.CriSettings? Cri { get; set; }

    public string EffectiveSocketPath => SocketPath ?? Path.Combine(DataDirectory, "agent.sock");
    public string EffectiveAdvertisedAddress => AdvertisedAddress ?? Listen;
    public string LogDirectory => Path.Combine(DataDirectory, "log");

    /// <summary>Every configuration error, empty when the options are usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!Guid.TryParseExact(AgentId, "D", out _))
            errors.Add($"agent id '{AgentId}' is not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)");
        if (DataDirectory.Length == 0)
            errors.Add("a data directory is required");
        if (LaunchPcrProblem() is { } pcrProblem)
            errors.Add(pcrProblem);
        if (AkHandle is < 0x8100_0000 or > 0x817F_FFFF)
            errors.Add($"AK handle 0x{AkHandle:x8} is not an owner persistent handle (0x81000000-0x817fffff)");
        if (!Uri.TryCreate(Registrar, UriKind.Absolute, out var registrar) || registrar.Scheme != Uri.UriSchemeHttps)
            errors.Add($"registrar '{Registrar}' is not an https:// URL");
        if (PushVerifier is not null && (!Uri.TryCreate(PushVerifier, UriKind.Absolute, out var push) || push.Scheme != Uri.UriSchemeHttps))
            errors.Add($"push verifier '{PushVerifier}' is not an https:// URL");
        if (Kbs is not null && (!Uri.TryCreate(Kbs, UriKind.Absolute, out var kbs) || kbs.Scheme != Uri.UriSchemeHttps || kbs.PathAndQuery != "/"))
            errors.Add($"key broker '{Kbs}' is not an https://HOST:PORT URL");
        if (!IPEndPoint.TryParse(Listen, out var listen) || listen.Port == 0)
            errors.Add($"listen address '{Listen}' is not IP:PORT");
        if (Cri is not null)
            errors.AddRange(Cri.Validate());
        return errors;
    }

    private string? LaunchPcrProblem()
    {
        try
        {
            Measurement.LaunchPcr.Validate(LaunchPcr);
            return null;
        }
        catch (ArgumentOutOfRangeException e)
        {
            // The message without the " (Parameter 'pcr')" and "Actual value" lines the runtime appends.
            return e.Message[..e.Message.IndexOf(" (Parameter", StringComparison.Ordinal)];
        }
    }
}
