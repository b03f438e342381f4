using System.CommandLine;
using TrustLaunch.Cli.Output;
using TrustLaunch.Hsm;

namespace TrustLaunch.Cli.Commands.Hsm;

/// <summary><c>trustlaunch hsm benchmark</c>: RSA-2048 and P-256 sign/s through TrustLaunch.Hsm against a bare
/// Pkcs11Interop loop in the same run, and <c>analyze</c> throughput on a generated spy log.</summary>
public static class HsmBenchmarkCommand
{
    public static Command Create(GlobalOptions options, HsmOptions hsm)
    {
        var iterations = new Option<int>("--iterations") { Description = "Signatures per round and path (3 alternating rounds)", HelpName = "N", DefaultValueFactory = _ => 500 };
        var analyzeMb = new Option<int>("--analyze-mb") { Description = "Size of the generated spy log for the analyze figure (0 skips it)", HelpName = "MB", DefaultValueFactory = _ => 64 };
        var command = new Command("benchmark", "Sign ops/s (ours vs bare Pkcs11Interop) and analyze MB/s") { iterations, analyzeMb };
        command.SetAction((parse, ct) => HsmOptions.Run(async () =>
        {
            var n = parse.GetValue(iterations);
            if (n < 1)
                throw new CliUsageException("--iterations must be at least 1");
            IReadOnlyList<HsmBenchmarkRow> rows;
            using (var session = hsm.Open(parse))
                rows = HsmBenchmark.RunSign(session, n);
            var mb = parse.GetValue(analyzeMb);
            var analyze = mb > 0 ? HsmBenchmark.RunAnalyze(Path.GetTempPath(), mb) : null;
            var result = new HsmBenchmarkResult(rows.Select(r => new HsmBenchmarkRowResult(r.Operation, r.Iterations, r.OpsPerSecond, r.BareOpsPerSecond, r.Ratio)).ToList(),
                analyze?.Bytes, analyze?.Calls, analyze?.MegabytesPerSecond);
            return await CliOutput.For(parse, options).WriteAsync(result, CliJsonContext.Output.HsmBenchmarkResult, (w, r) =>
            {
                w.WriteLine($"{"operation",-24} {"n",6} {"ops/s",10} {"bare ops/s",11} {"ratio",6}");
                foreach (var row in r.Sign)
                    w.WriteLine($"{row.Operation,-24} {row.Iterations,6} {row.OpsPerSecond,10:0.0} {row.BareOpsPerSecond,11:0.0} {row.Ratio,6:0.000}");
                if (r.AnalyzeMegabytesPerSecond is { } mbs)
                    w.WriteLine($"analyze: {r.AnalyzeBytes / 1048576.0:0.0} MB, {r.AnalyzeCalls} calls, {mbs:0.0} MB/s");
            }).ConfigureAwait(false);
        }));
        return command;
    }
}
