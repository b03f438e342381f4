using TrustLaunch.Hosting.Pki;
using TrustLaunch.Testing;

namespace TrustLaunch.Hosting.Tests;

/// <summary>A CA in a scratch directory with certificates for each role, deleted afterwards: <see cref="Directory"/>
/// is the TLS directory services read, <see cref="KeyDirectory"/> holds the CA key.</summary>
public sealed class TestPki : IDisposable
{
    private readonly string _root = System.IO.Directory.CreateTempSubdirectory("trustlaunch-pki-").FullName;

    public TestPki() => TestCa.Create(Directory);

    public string Directory => Path.Combine(_root, "tls");

    public string KeyDirectory => TestCa.KeyDirectory(Directory);

    /// <summary>A scratch directory of its own, outside the TLS and key directories.</summary>
    public string Scratch(string name) => System.IO.Directory.CreateDirectory(Path.Combine(_root, name)).FullName;

    public string this[string file] => Path.Combine(Directory, file);

    public TlsIdentity Identity(string name) => TlsIdentity.FromDirectory(Directory, name);

    public CertificateAuthority OpenCa() => TestCa.Open(Directory);

    public void Dispose() => System.IO.Directory.Delete(_root, recursive: true);
}
