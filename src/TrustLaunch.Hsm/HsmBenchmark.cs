using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Net.Pkcs11Interop.Common;
using TrustLaunch.Hsm.Spy;

namespace TrustLaunch.Hsm;

/// <summary>One benchmark row: our <see cref="HsmSession.Sign"/> against a bare Pkcs11Interop C_Sign loop on the same
/// key and session, measured in alternating rounds so both see the same machine state.</summary>
public sealed record HsmBenchmarkRow(string Operation, int Iterations, double OpsPerSecond, double BareOpsPerSecond, double Ratio);

public sealed record HsmAnalyzeBenchmark(long Bytes, long Calls, double Seconds, double MegabytesPerSecond);

public static class HsmBenchmark
{
    /// <summary>Generates throwaway RSA-2048 and P-256 keys on the token (deleted afterwards) and signs with them.</summary>
    public static IReadOnlyList<HsmBenchmarkRow> RunSign(HsmSession session, int iterations, int rounds = 3)
    {
        var rows = new List<HsmBenchmarkRow>();
        var data = Encoding.UTF8.GetBytes("trustlaunch benchmark payload");
        foreach (var (spec, alg) in new[] { ("rsa:2048", "RS256"), ("ec:p256", "ES256") })
        {
            var label = $"tl-bench-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";
            var key = session.GenerateKey(HsmKeySpec.Parse(spec), new HsmKeyOptions { Label = label });
            try
            {
                session.Sign(key, alg, data); // warm up both paths
                BareSign(session, key, alg, data, 1);
                long ours = 0, bare = 0;
                for (var r = 0; r < rounds; r++)
                {
                    var sw = Stopwatch.StartNew();
                    for (var i = 0; i < iterations; i++)
                        session.Sign(key, alg, data);
                    ours += sw.ElapsedTicks;
                    bare += BareSign(session, key, alg, data, iterations);
                }
                var n = (double)iterations * rounds;
                var oursOps = n / (ours / (double)Stopwatch.Frequency);
                var bareOps = n / (bare / (double)Stopwatch.Frequency);
                rows.Add(new HsmBenchmarkRow($"{alg} sign ({spec})", iterations * rounds, Math.Round(oursOps, 1), Math.Round(bareOps, 1), Math.Round(oursOps / bareOps, 3)));
            }
            finally
            {
                session.Delete(new Pkcs11Uri { Object = label });
            }
        }
        return rows;
    }

    /// <summary>The baseline: Pkcs11Interop's ISession.Sign with one mechanism object, hashing for ECDSA as we must
    /// (SoftHSM 2.6 has no CKM_ECDSA_SHA256). Returns elapsed Stopwatch ticks.</summary>
    private static long BareSign(HsmSession session, HsmKey key, string alg, byte[] data, int iterations)
    {
        var s = session.Raw;
        var handle = s.Factories.ObjectHandleFactory.Create(key.Handle);
        var ecdsa = alg == "ES256";
        var mechanism = s.Factories.MechanismFactory.Create(ecdsa ? CKM.CKM_ECDSA : CKM.CKM_SHA256_RSA_PKCS);
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < iterations; i++)
            s.Sign(mechanism, handle, ecdsa ? SHA256.HashData(data) : data);
        return sw.ElapsedTicks;
    }

    /// <summary>Writes a synthetic pkcs11-spy log of about <paramref name="megabytes"/> MB (several processes, both
    /// formats) and times <see cref="SpyLogAnalyzer.Analyze"/> over it.</summary>
    public static HsmAnalyzeBenchmark RunAnalyze(string directory, int megabytes)
    {
        var path = Path.Combine(directory, $"bench-spy-{Environment.ProcessId}.log");
        try
        {
            var target = (long)megabytes * 1024 * 1024;
            using (var w = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 20))
            {
                long written = 0;
                var process = 0;
                var ts = new DateTime(2026, 1, 1);
                while (written < target)
                {
                    process++;
                    var sb = new StringBuilder();
                    sb.Append("\n\n*************** OpenSC PKCS#11 spy *****************\nLoaded: \"/usr/lib/softhsm/libsofthsm2.so\"\n\n");
                    for (var seq = 0; seq < 2000; seq++)
                    {
                        ts = ts.AddMilliseconds(1);
                        var stamp = ts.ToString("yyyy-MM-dd HH:mm:ss.fff", System.Globalization.CultureInfo.InvariantCulture);
                        var prefix = process % 2 == 0 ? $"P:{1000 + process}; T:0x7f00000000 " : "";
                        switch (seq % 4)
                        {
                            case 0:
                                sb.Append($"{seq}: C_Login\n{prefix}{stamp}\n[in] hSession = 0x1\n[in] userType = CKU_USER\n[in] pPin[ulPinLen] 00007ffe03e2f87f / 4\n    00000000  31 32 33 34                                      1234            \nReturned:  {(seq % 40 == 0 ? "160 CKR_PIN_INCORRECT" : "0 CKR_OK")}\n\n");
                                break;
                            case 1:
                                sb.Append($"{seq}: C_SignInit\n{prefix}{stamp}\n[in] hSession = 0x1\n[in] pMechanism->type = CKM_ECDSA                    \n[in] pMechanism->pParameter[ulParameterLen] NULL [size : 0x0 (0)]\n[in] hKey = 0x2\nReturned:  0 CKR_OK\n\n");
                                break;
                            case 2:
                                sb.Append($"{seq}: C_Sign\n{prefix}{stamp}\n[in] hSession = 0x1\n[in] pData[ulDataLen] 000055d00022ae35 / 32\n    00000000  4F 0A 54 2B 2D 3E 73 C8 DA 15 E7 42 0A 13 09 AA  O.T+->s....B....\n    00000010  4F 0A 54 2B 2D 3E 73 C8 DA 15 E7 42 0A 13 09 AA  O.T+->s....B....\n[out] pSignature[*pulSignatureLen] 000055d00022ae35 / 64\n    00000000  4F 0A 54 2B 2D 3E 73 C8 DA 15 E7 42 0A 13 09 AA  O.T+->s....B....\n    00000010  4F 0A 54 2B 2D 3E 73 C8 DA 15 E7 42 0A 13 09 AA  O.T+->s....B....\n    00000020  4F 0A 54 2B 2D 3E 73 C8 DA 15 E7 42 0A 13 09 AA  O.T+->s....B....\n    00000030  4F 0A 54 2B 2D 3E 73 C8 DA 15 E7 42 0A 13 09 AA  O.T+->s....B....\nReturned:  0 CKR_OK\n\n");
                                break;
                            default:
                                sb.Append($"{seq}: C_FindObjects\n{prefix}{stamp}\n[in] hSession = 0x1\n[in] ulMaxObjectCount = 0x1\n[out] ulObjectCount = 0x1\nObject 0x2\nReturned:  0 CKR_OK\n\n");
                                break;
                        }
                    }
                    w.Write(sb);
                    written += sb.Length;
                }
            }
            var bytes = new FileInfo(path).Length;
            var sw = Stopwatch.StartNew();
            SpyReport report;
            using (var reader = new StreamReader(path, Encoding.UTF8, false, 1 << 20))
                report = SpyLogAnalyzer.Analyze(reader);
            var seconds = sw.Elapsed.TotalSeconds;
            return new HsmAnalyzeBenchmark(bytes, report.TotalCalls, Math.Round(seconds, 3), Math.Round(bytes / 1048576.0 / seconds, 1));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
