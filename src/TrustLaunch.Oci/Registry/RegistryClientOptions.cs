namespace TrustLaunch.Oci.Registry;

/// <summary>User name and password for a registry (basic auth, or to fetch bearer tokens).</summary>
public sealed record RegistryCredentials(string Username, string Password)
{
    public override string ToString() => $"RegistryCredentials {{ Username = {Username} }}";
}

public sealed record RegistryClientOptions
{
    /// <summary>Registries (host or host:port) spoken to over plain http. Loopback hosts always are.</summary>
    public IReadOnlyCollection<string> InsecureRegistries { get; init; } = [];

    /// <summary>A PEM file of extra CA certificates trusted besides the system roots.</summary>
    public string? ExtraCaPemFile { get; init; }

    /// <summary>Credentials by registry (as written in references, e.g. <c>127.0.0.1:5000</c> or <c>docker.io</c>).</summary>
    public IReadOnlyDictionary<string, RegistryCredentials> Credentials { get; init; } = new Dictionary<string, RegistryCredentials>();

    /// <summary>Credentials from podman/skopeo/docker auth files, used for registries <see cref="Credentials"/> does not name.</summary>
    public RegistryAuthFiles? AuthFiles { get; init; }

    /// <summary>Mirrors, locations, insecure and blocked registries (registries.conf).</summary>
    public RegistriesConf Registries { get; init; } = RegistriesConf.Empty;

    /// <summary>Per-host CA and client certificates (certs.d).</summary>
    public CertsDirectory? Certs { get; init; }

    /// <summary>Told when a mirror (or location) is given up for the next one, with the reason.</summary>
    public Action<string>? SourceRefused { get; init; }

    /// <summary>Attempts per request on 5xx, 429 and connection errors (and reconnects per blob stream).</summary>
    public int MaxAttempts { get; init; } = 6;

    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(200);
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>A blob read that gets no data for this long counts as a broken connection (and is resumed).</summary>
    public TimeSpan BlobReadTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Loopback registries use plain http unless this is false (a local registry with TLS) or certs.d has a directory for the host.</summary>
    public bool PlainHttpForLoopback { get; init; } = true;

    /// <summary>Time limit for a response's headers (blob bodies stream without a total limit).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(100);

    /// <summary>Largest manifest or index accepted (the distribution spec suggests registries accept 4 MiB).</summary>
    public int MaxManifestBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>Options with the registry settings users keep for podman and skopeo, read now: auth files
    /// (<see cref="RegistryAuthFiles.Load"/>), registries.conf and certs.d; null = their default locations.</summary>
    /// <exception cref="FileNotFoundException">A named settings file is missing.</exception>
    /// <exception cref="FormatException">A settings file is malformed.</exception>
    public static RegistryClientOptions FromSettingsFiles(string? authFile, string? registriesConf, string? certsDir) => new()
    {
        AuthFiles = RegistryAuthFiles.Load(authFile),
        Registries = RegistriesConf.Load(registriesConf),
        Certs = new CertsDirectory(certsDir ?? CertsDirectory.DefaultPath),
    };
}
