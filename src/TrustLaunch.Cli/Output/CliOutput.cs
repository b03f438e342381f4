using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace TrustLaunch.Cli.Output;

/// <summary>Prints a command's result as text or, with <c>--json</c>, as one JSON document.</summary>
public sealed class CliOutput(TextWriter writer, bool json)
{
    public TextWriter Writer { get; } = writer;
    public bool Json { get; } = json;

    public static CliOutput For(ParseResult parse, GlobalOptions options) =>
        new(parse.InvocationConfiguration.Output, parse.GetValue(options.Json));

    public async Task<int> WriteAsync<T>(T result, JsonTypeInfo<T> typeInfo, Action<TextWriter, T> text)
    {
        if (Json)
            await Writer.WriteLineAsync(JsonSerializer.Serialize(result, typeInfo)).ConfigureAwait(false);
        else
            text(Writer, result);
        await Writer.FlushAsync().ConfigureAwait(false);
        return ExitCodes.Success;
    }
}
