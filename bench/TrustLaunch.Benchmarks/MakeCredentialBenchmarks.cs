using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using TrustLaunch.Tpm;
using TrustLaunch.Tpm.Structures;
using TrustLaunch.Tpm.Verification;

namespace TrustLaunch.Benchmarks;

/// <summary>The registrar's per-registration cost: a credential bound to an AK name, sealed to the EK.</summary>
[MemoryDiagnoser]
public class MakeCredentialBenchmarks
{
    private TpmPublic _rsaEk = null!;
    private TpmPublic _eccEk = null!;
    private readonly byte[] _akName = [0x00, 0x0B, .. RandomNumberGenerator.GetBytes(32)];
    private readonly byte[] _secret = RandomNumberGenerator.GetBytes(32);

    [GlobalSetup]
    public void Setup()
    {
        using var rsa = RSA.Create(2048);
        _rsaEk = TpmTemplates.EkRsa2048() with
        {
            Rsa = new TpmRsaKey(2048, 0, rsa.ExportParameters(false).Modulus!),
        };
        using var ecc = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var q = ecc.ExportParameters(false).Q;
        _eccEk = TpmTemplates.EkEccP256() with
        {
            Ecc = new TpmEccKey(TpmEccCurve.NistP256, TpmScheme.None, q.X!, q.Y!),
        };
    }

    [Benchmark]
    public MadeCredential RsaEk() => CredentialMaker.Make(_rsaEk, _akName, _secret);

    [Benchmark]
    public MadeCredential EccEk() => CredentialMaker.Make(_eccEk, _akName, _secret);
}
