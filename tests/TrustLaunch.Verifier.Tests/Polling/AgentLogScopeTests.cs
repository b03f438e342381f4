using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TrustLaunch.Verifier.Polling;

namespace TrustLaunch.Verifier.Tests.Polling;

public sealed class AgentLogScopeTests
{
    /// <summary>Records the scopes begun on it, as a console formatter would receive them.</summary>
    private sealed class ScopeRecorder : ILogger
    {
        public List<object> Scopes { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull
        {
            Scopes.Add(state);
            return null;
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            NullLogger.Instance.Log(logLevel, eventId, state, exception, formatter);
    }

    [Fact]
    public void AgentScope_PrintsTheAgentIdNotATypeName()
    {
        var logger = new ScopeRecorder();

        using (AgentAttestation.AgentScope(logger, "node-7"))
        {
        }

        var scope = Assert.Single(logger.Scopes);
        // JSON console logs write the scope's ToString() as its "Message", then its properties.
        Assert.Equal("agent node-7", scope.ToString());
        var properties = Assert.IsAssignableFrom<IEnumerable<KeyValuePair<string, object?>>>(scope);
        Assert.Contains(new KeyValuePair<string, object?>("AgentId", "node-7"), properties);
    }
}
