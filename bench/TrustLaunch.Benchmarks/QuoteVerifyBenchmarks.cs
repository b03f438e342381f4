using BenchmarkDotNet.Attributes;
using TrustLaunch.Tpm;
using TrustLaunch.Tpm.Structures;
using TrustLaunch.Tpm.Verification;

namespace TrustLaunch.Benchmarks;

/// <summary>What the verifier does per agent per poll: parse the quote and signature, check signature, nonce and PCR digest.</summary>
[MemoryDiagnoser]
public class QuoteVerifyBenchmarks
{
    private QuoteSample _ecc = null!;
    private QuoteSample _rsa = null!;

    [GlobalSetup]
    public void Setup()
    {
        _ecc = QuoteSample.Create(TpmAlgId.Ecc);
        _rsa = QuoteSample.Create(TpmAlgId.Rsa);
        if (!Verify(_ecc) || !Verify(_rsa))
            throw new InvalidOperationException("the sample quotes do not verify");
    }

    [Benchmark]
    public bool ParseAndVerifyEcc() => Verify(_ecc);

    [Benchmark]
    public bool ParseAndVerifyRsa() => Verify(_rsa);

    [Benchmark]
    public TpmAttest ParseAttestOnly() => TpmAttest.Parse(_ecc.Attest);

    private static bool Verify(QuoteSample s) =>
        QuoteVerifier.Verify(s.Key, s.Attest, s.Signature, s.PcrValues, s.Nonce).IsValid;
}
