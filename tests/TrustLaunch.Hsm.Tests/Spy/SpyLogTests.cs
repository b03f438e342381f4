using System.Text;
using System.Text.RegularExpressions;
using TrustLaunch.Hsm.Spy;
using TrustLaunch.Testing;

namespace TrustLaunch.Hsm.Tests.Spy;

/// <summary>Logs made by the real pkcs11-spy around pkcs11-tool on SoftHSM, analysed and cross-checked against counts
/// taken from the text.</summary>
public sealed partial class SpyLogTests(SoftHsmFixture hsm) : IClassFixture<SoftHsmFixture>, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("trustlaunch-spy-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<string> MakeLogAsync()
    {
        var log = Path.Combine(_dir, "spy.log");
        var data = Path.Combine(_dir, "data");
        await File.WriteAllTextAsync(data, "launch only when trusted");
        (await hsm.Pkcs11ToolAsync(log, "--login", "--pin", SoftHsmFixture.UserPinText, "--keypairgen", "--key-type", "EC:prime256v1", "--label", "spy-k")).EnsureSuccess("keypairgen");
        (await hsm.Pkcs11ToolAsync(log, "--login", "--pin", SoftHsmFixture.UserPinText, "--sign", "-m", "ECDSA", "--label", "spy-k", "-i", data, "-o", Path.Combine(_dir, "sig"))).EnsureSuccess("sign");
        (await hsm.Pkcs11ToolAsync(log, "--login", "--pin", SoftHsmFixture.UserPinText, "-O")).EnsureSuccess("list objects");
        var wrong = await hsm.Pkcs11ToolAsync(log, "--login", "--pin", "0000-wrong", "-O");
        Assert.NotEqual(0, wrong.ExitCode);
        return log;
    }

    [Fact]
    public async Task Analyze_RealSpyLog_CountsMatchTheText()
    {
        var log = await MakeLogAsync();
        var text = await File.ReadAllTextAsync(log);
        Assert.Contains(SoftHsmFixture.UserPinText, text); // the spy really logs the PIN in clear

        using var reader = new StreamReader(log);
        var report = SpyLogAnalyzer.Analyze(reader);

        Assert.Equal(CallHeader().Count(text), report.TotalCalls);
        Assert.Equal(Count(text, "Returned:  0 CKR_OK"), report.Returns["CKR_OK"]);
        Assert.Equal(Count(text, "*************** OpenSC PKCS#11 spy"), report.Processes.Count);
        Assert.Equal(4, report.Processes.Count);
        Assert.Equal(CallOf("C_Login").Count(text), report.Calls["C_Login"]);
        Assert.Equal(CallOf("C_Sign").Count(text), report.Calls["C_Sign"]);
        var error = Assert.Single(report.Errors, e => e.Rv == "CKR_PIN_INCORRECT");
        Assert.Equal("C_Login", error.Function);
        Assert.Equal(1, error.Count);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$", error.FirstSeen);
        Assert.Equal(1, report.Sessions.FailedLogins);
        Assert.Equal(3, report.Sessions.Logins);
        Assert.Equal(report.TotalCalls, report.Processes.Sum(p => p.Calls));
        Assert.Equal(report.TotalCalls, report.Functions.Sum(f => f.Count));
        var sign = Assert.Single(report.Functions, f => f.Function == "C_Sign");
        Assert.NotNull(sign.P50Ms);
        Assert.True(sign.P50Ms <= sign.P95Ms && sign.P95Ms <= sign.P99Ms);

        var textOut = new StringWriter();
        SpyReportText.Write(textOut, report);
        Assert.DoesNotContain(SoftHsmFixture.UserPinText, textOut.ToString());
        Assert.Contains("C_Login CKR_PIN_INCORRECT ×1", textOut.ToString());
    }

    [Fact]
    public async Task WriteEvents_RealSpyLog_OneLinePerCallPinsRedacted()
    {
        var log = await MakeLogAsync();
        var text = await File.ReadAllTextAsync(log);
        using var reader = new StreamReader(log);
        using var output = new MemoryStream();
        var n = SpyLogAnalyzer.WriteEvents(reader, output);
        var events = Encoding.UTF8.GetString(output.ToArray());
        var lines = events.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(CallHeader().Count(text), n);
        Assert.Equal(n, lines.Length);
        Assert.DoesNotContain(SoftHsmFixture.UserPinText, events);
        Assert.DoesNotContain("0000-wrong", events);
        Assert.DoesNotContain("31 32 33 34 2D", events, StringComparison.OrdinalIgnoreCase);
        var logins = lines.Where(l => l.Contains("\"function\":\"C_Login\"", StringComparison.Ordinal)).ToList();
        Assert.Equal(4, logins.Count);
        Assert.All(logins, l => Assert.Contains("pPin[ulPinLen] REDACTED / ", l));
        foreach (var l in lines)
            using (System.Text.Json.JsonDocument.Parse(l)) { }
    }

    [Fact]
    public async Task Analyze_OpenSc024Format_SameCountsAndPids()
    {
        // OpenSC 0.24+ prefixes the timestamp with "P:<pid>; T:0x<tid>"; rewrite a real 0.23 log into that form.
        var log = await MakeLogAsync();
        var lines = await File.ReadAllLinesAsync(log);
        var process = 0;
        var rewritten = lines.Select(l =>
        {
            if (l.StartsWith("*************** OpenSC", StringComparison.Ordinal)) process++;
            return Timestamp().IsMatch(l) ? $"P:{4000 + process}; T:0x7f12345678{process:x2} {l}" : l;
        });
        var text = string.Join('\n', rewritten);
        var report = SpyLogAnalyzer.Analyze(new StringReader(text));
        Assert.Equal(CallHeader().Count(text), report.TotalCalls);
        Assert.Equal([4001L, 4002L, 4003L, 4004L], report.Processes.Select(p => p.Pid!.Value));
        Assert.Single(report.Errors, e => e.Rv == "CKR_PIN_INCORRECT");
    }

    [Fact]
    public void Parse_InterleavedProcesses_SeparatedByPid()
    {
        const string log = """
            *************** OpenSC PKCS#11 spy *****************
            Loaded: "/usr/lib/softhsm/libsofthsm2.so"
            *************** OpenSC PKCS#11 spy *****************
            Loaded: "/usr/lib/softhsm/libsofthsm2.so"

            0: C_Initialize
            P:10; T:0x1 2026-01-01 00:00:00.000
            Returned:  0 CKR_OK

            0: C_Initialize
            P:20; T:0x2 2026-01-01 00:00:00.001
            Returned:  0 CKR_OK

            1: C_Login
            P:10; T:0x1 2026-01-01 00:00:00.010
            [in] pPin[ulPinLen] 00007ffe03e2f87f / 6
                00000000  73 65 63 72 65 74                                secret
            Returned:  160 CKR_PIN_INCORRECT

            1: C_Finalize
            P:20; T:0x2 2026-01-01 00:00:00.100
            Returned:  0 CKR_OK

            2: C_Finalize
            P:10; T:0x1 2026-01-01 00:00:00.030
            Returned:  0 CKR_OK
            """;
        var report = SpyLogAnalyzer.Analyze(new StringReader(log));
        Assert.Equal(5, report.TotalCalls);
        Assert.Equal([10L, 20L], report.Processes.Select(p => p.Pid!.Value));
        Assert.Equal([3L, 2L], report.Processes.Select(p => p.Calls));
        var init = Assert.Single(report.Functions, f => f.Function == "C_Initialize");
        Assert.Equal(10, init.P50Ms); // pid 10: 0.000 → 0.010
        Assert.Equal(99, init.P99Ms); // pid 20: 0.001 → 0.100
        Assert.Equal(20, Assert.Single(report.Functions, f => f.Function == "C_Login").P50Ms);
        var call = Assert.Single(SpyLogParser.Parse(new StringReader(log), keepLines: true), c => c.Function == "C_Login");
        Assert.Equal(["[in] pPin[ulPinLen] REDACTED / 6"], call.Lines);
        Assert.Equal("CKR_PIN_INCORRECT", call.RvName);
        Assert.Equal(160, call.Rv);
    }

    private static int Count(string text, string what) => Regex.Count(text, Regex.Escape(what));

    private static Regex CallOf(string function) => new($"^\\d+: {function}$", RegexOptions.Multiline);

    [GeneratedRegex(@"^\d+: C_\w+$", RegexOptions.Multiline)]
    private static partial Regex CallHeader();

    [GeneratedRegex(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$")]
    private static partial Regex Timestamp();
}
