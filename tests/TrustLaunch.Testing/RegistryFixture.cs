using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Crypto.Generators;
using Xunit;

namespace TrustLaunch.Testing;

public enum RegistryAuthMode
{
    None,
    /// <summary>htpasswd (bcrypt) basic auth.</summary>
    Basic,
    /// <summary>Bearer tokens from a <see cref="TokenServer"/> the fixture runs.</summary>
    Bearer,
}

/// <summary>
/// A private docker-registry (distribution 2.8, Debian's <c>/usr/bin/docker-registry</c>) on 127.0.0.1 with a free
/// port and its own storage directory and config.yml, deleted afterwards. Subclasses pick the auth mode and TLS.
/// Debian packages: <c>docker-registry skopeo umoci busybox-static</c>; the htpasswd bcrypt line comes from
/// BouncyCastle, so apache2-utils is not needed. Nothing touches the network beyond loopback.
/// <see cref="StopAsync"/> / <see cref="StartAsync"/> kill and restart it on the same port and storage for fault tests.
/// </summary>
public class RegistryFixture : IAsyncLifetime
{
    public const string Username = "tester";
    public const string Password = "correct horse battery";
    public const string Service = "trustlaunch-test-registry";
    public const string Issuer = "trustlaunch-test-issuer";

    private Process? _process;

    public RegistryFixture() : this(RegistryAuthMode.None)
    {
    }

    protected RegistryFixture(RegistryAuthMode mode, bool tls = false, bool requireClientCertificate = false)
    {
        Mode = mode;
        Tls = tls || requireClientCertificate;
        RequireClientCertificate = requireClientCertificate;
    }

    /// <summary>TLS that demands a client certificate issued by the fixture's client CA (<see cref="ClientCertPath"/>/<see cref="ClientKeyPath"/>).</summary>
    public bool RequireClientCertificate { get; }

    public string ClientCertPath => Path.Combine(Directory, "client.cert");
    public string ClientKeyPath => Path.Combine(Directory, "client.key");

    public RegistryAuthMode Mode { get; }

    /// <summary>Serves https with a certificate for 127.0.0.1 issued by a private CA (<see cref="CaPemPath"/>).</summary>
    public bool Tls { get; }

    public string CaPemPath => Path.Combine(Directory, "ca.pem");
    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("trustlaunch-registry-").FullName;
    public string StorageDirectory => Path.Combine(Directory, "storage");
    public string ConfigPath => Path.Combine(Directory, "config.yml");
    public string LogPath => Path.Combine(Directory, "registry.log");
    public int Port { get; private set; }

    /// <summary><c>127.0.0.1:PORT</c>, the registry part of references.</summary>
    public string Host => $"127.0.0.1:{Port}";

    public TokenServer? Tokens { get; private set; }

    public bool IsRunning => _process is { HasExited: false };

    public virtual async Task InitializeAsync()
    {
        System.IO.Directory.CreateDirectory(StorageDirectory);
        string auth;
        switch (Mode)
        {
            case RegistryAuthMode.Basic:
                var htpasswd = Path.Combine(Directory, "htpasswd");
                await File.WriteAllTextAsync(htpasswd, HtpasswdLine(Username, Password) + "\n");
                auth = $"auth:\n  htpasswd:\n    realm: trustlaunch-test\n    path: {htpasswd}\n";
                break;
            case RegistryAuthMode.Bearer:
                Tokens = await TokenServer.StartAsync(Issuer, Service, Username, Password);
                var bundle = Path.Combine(Directory, "token-root.pem");
                await File.WriteAllTextAsync(bundle, Tokens.CertificatePem);
                auth = $"auth:\n  token:\n    realm: {Tokens.Realm}\n    service: {Service}\n    issuer: {Issuer}\n    rootcertbundle: {bundle}\n";
                break;
            default:
                auth = "";
                break;
        }
        var tls = Tls ? WriteTlsFiles() : "";
        for (var attempt = 0; attempt < 5 && _process is null; attempt++)
        {
            Port = FreePorts.FindPair();
            await File.WriteAllTextAsync(ConfigPath, $"""
                version: 0.1
                log:
                  level: warn
                  accesslog:
                    disabled: true
                storage:
                  filesystem:
                    rootdirectory: {StorageDirectory}
                  delete:
                    enabled: true
                http:
                  addr: 127.0.0.1:{Port}
                  secret: trustlaunch-fixture-secret
                {tls}
                {auth}
                """);
            await TryStartAsync();
        }
        if (_process is null)
            throw new InvalidOperationException($"docker-registry did not start; see {LogPath}: {ReadLog()}");
    }

    /// <summary>A CA and a server certificate for 127.0.0.1 it issued; returns the http.tls config block.</summary>
    private string WriteTlsFiles()
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=trustlaunch test registry CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(System.Net.IPAddress.Loopback);
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var leaf = request.Create(ca, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(7), RandomNumberGenerator.GetBytes(8));
        File.WriteAllText(CaPemPath, ca.ExportCertificatePem() + "\n");
        var certPath = Path.Combine(Directory, "server.pem");
        var keyPath = Path.Combine(Directory, "server-key.pem");
        File.WriteAllText(certPath, leaf.ExportCertificatePem() + "\n");
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem() + "\n");
        var block = $"  tls:\n    certificate: {certPath}\n    key: {keyPath}";
        return RequireClientCertificate ? block + $"\n    clientcas:\n      - {WriteClientCertificate()}" : block;
    }

    /// <summary>A client CA and a client certificate it issued; returns the CA's path.</summary>
    private string WriteClientCertificate()
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=trustlaunch test client CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=trustlaunch test client", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        using var leaf = request.Create(ca, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(7), RandomNumberGenerator.GetBytes(8));
        var caPath = Path.Combine(Directory, "client-ca.pem");
        File.WriteAllText(caPath, ca.ExportCertificatePem() + "\n");
        File.WriteAllText(ClientCertPath, leaf.ExportCertificatePem() + "\n");
        File.WriteAllText(ClientKeyPath, key.ExportPkcs8PrivateKeyPem() + "\n");
        return caPath;
    }

    /// <summary>A bcrypt htpasswd line, as <c>htpasswd -B</c> writes it (docker-registry accepts only bcrypt).</summary>
    public static string HtpasswdLine(string user, string password) =>
        $"{user}:{OpenBsdBCrypt.Generate("2y", password.ToCharArray(), RandomNumberGenerator.GetBytes(16), 5)}";

    public string ReadLog() => File.Exists(LogPath) ? File.ReadAllText(LogPath) : "";

    /// <summary>Where the registry keeps a blob's bytes (to corrupt it in tests).</summary>
    public string BlobDataPath(string digest)
    {
        var hex = digest["sha256:".Length..];
        return Path.Combine(StorageDirectory, "docker", "registry", "v2", "blobs", "sha256", hex[..2], hex, "data");
    }

    /// <summary>Kills the registry (SIGKILL, as a crash), keeping its storage.</summary>
    public async Task StopAsync()
    {
        await LoopbackServer.KillAsync(_process);
        _process = null;
    }

    /// <summary>Starts the registry again on the same port and storage.</summary>
    public async Task StartAsync()
    {
        await StopAsync();
        for (var attempt = 0; attempt < 20 && _process is null; attempt++)
        {
            if (!await TryStartAsync())
                await Task.Delay(100);
        }
        if (_process is null)
            throw new InvalidOperationException($"docker-registry did not restart on port {Port}: {ReadLog()}");
    }

    private async Task<bool> TryStartAsync()
    {
        // The shell execs the registry (same pid) so its output goes to a file nobody has to drain.
        var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add($"exec /usr/bin/docker-registry serve '{ConfigPath}' >>'{LogPath}' 2>&1");
        _process = await LoopbackServer.StartAsync(info, Port);
        return _process is not null;
    }

    /// <summary>skopeo's arguments for pushing here: no TLS verification, and the fixture's credentials if any.</summary>
    public IEnumerable<string> SkopeoDestinationArguments()
    {
        yield return "--dest-tls-verify=false";
        if (RequireClientCertificate)
        {
            // skopeo reads NAME.cert + NAME.key (and *.crt) from the directory; the fixture's other files have other names.
            yield return "--dest-cert-dir";
            yield return Directory;
        }
        if (Mode != RegistryAuthMode.None)
        {
            yield return "--dest-creds";
            yield return $"{Username}:{Password}";
        }
    }

    public virtual async Task DisposeAsync()
    {
        await StopAsync();
        if (Tokens is not null)
            await Tokens.DisposeAsync();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}

public sealed class BasicAuthRegistryFixture() : RegistryFixture(RegistryAuthMode.Basic);

public sealed class BearerAuthRegistryFixture() : RegistryFixture(RegistryAuthMode.Bearer);

public sealed class TlsRegistryFixture() : RegistryFixture(RegistryAuthMode.None, tls: true);

/// <summary>TLS that demands a client certificate (skopeo pushes with the fixture's, see <see cref="RegistryFixture.SkopeoDestinationArguments"/>).</summary>
public sealed class ClientCertificateRegistryFixture() : RegistryFixture(RegistryAuthMode.None, requireClientCertificate: true);
