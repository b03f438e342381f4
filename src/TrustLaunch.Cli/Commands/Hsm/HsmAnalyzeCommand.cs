using System.CommandLine;
using TrustLaunch.Cli.Output;
using TrustLaunch.Hsm.Spy;

namespace TrustLaunch.Cli.Commands.Hsm;

/// <summary><c>trustlaunch hsm analyze</c>: needs no HSM; reads a pkcs11-spy log in one streaming pass.</summary>
public static class HsmAnalyzeCommand
{
    public static Command Create(GlobalOptions options)
    {
        var log = new Option<string>("--log") { Description = "pkcs11-spy log (OpenSC 0.23 or 0.24+ format; - for stdin)", HelpName = "FILE", Required = true };
        var format = new Option<string?>("--format") { Description = "text, json (same as --json) or events (JSON lines, PINs redacted)", HelpName = "text|json|events" };
        format.AcceptOnlyFromAmong("text", "json", "events");
        var command = new Command("analyze", "Summarise a pkcs11-spy log: calls, return codes, errors, sessions, processes, durations") { log, format };
        command.SetAction(async (parse, ct) =>
        {
            var path = parse.GetValue(log)!;
            using var reader = path == "-" ? new StreamReader(Console.OpenStandardInput()) : new StreamReader(path, new FileStreamOptions { BufferSize = 1 << 20 });
            var fmt = parse.GetValue(format) ?? (parse.GetValue(options.Json) ? "json" : "text");
            var stdout = parse.InvocationConfiguration.Output;
            if (fmt == "events")
            {
                using var stream = new WriterStream(stdout);
                SpyLogAnalyzer.WriteEvents(reader, stream);
                await stdout.FlushAsync(ct).ConfigureAwait(false);
                return ExitCodes.Success;
            }
            var report = SpyLogAnalyzer.Analyze(reader);
            return await new CliOutput(stdout, fmt == "json").WriteAsync(report, CliJsonContext.Output.SpyReport, SpyReportText.Write).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary>Lets the UTF-8 JSON-lines writer stream into the command's <see cref="TextWriter"/>.</summary>
    private sealed class WriterStream(TextWriter writer) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => writer.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> buffer) => writer.Write(System.Text.Encoding.UTF8.GetString(buffer));
    }
}
