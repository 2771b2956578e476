using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Dcis.Crisis.DevSidecar.Subscriptions;

/// <summary>
/// The subset of CEL the dev sidecar evaluates: literals (string, int, double, bool, null), member
/// access (<c>event.data.level</c>, <c>event.data['x']</c>), <c>== != &lt; &lt;= &gt; &gt;=</c>,
/// <c>&amp;&amp;</c>, <c>||</c>, <c>!</c> and parentheses. Anything else fails at parse time, so an
/// unsupported routing rule stops the sidecar at startup instead of misrouting events.
/// </summary>
public sealed class CelExpression
{
    private readonly Node _root;

    private CelExpression(string text, Node root)
    {
        Text = text;
        _root = root;
    }

    public string Text { get; }

    /// <summary>Parses an expression; <paramref name="allowedRoots"/> lists the variables it may reference.</summary>
    public static CelExpression Parse(string text, params string[] allowedRoots)
    {
        var parser = new Parser(Tokenize(text), allowedRoots, text);
        var root = parser.ParseOr();
        parser.ExpectEnd();
        return new CelExpression(text, root);
    }

    /// <summary>Evaluates to a bool; a non-bool result is an error, as in daprd.</summary>
    public bool EvaluateBool(IReadOnlyDictionary<string, JsonNode?> variables)
    {
        var value = _root.Eval(variables);
        return value is bool b ? b : throw new InvalidOperationException($"CEL expression '{Text}' did not evaluate to a bool");
    }

    private abstract record Node
    {
        public abstract object? Eval(IReadOnlyDictionary<string, JsonNode?> vars);
    }

    private sealed record Literal(object? Value) : Node
    {
        public override object? Eval(IReadOnlyDictionary<string, JsonNode?> vars) => Value;
    }

    private sealed record Path(string Root, IReadOnlyList<string> Members) : Node
    {
        public override object? Eval(IReadOnlyDictionary<string, JsonNode?> vars)
        {
            if (!vars.TryGetValue(Root, out var node))
            {
                throw new InvalidOperationException($"undeclared reference to '{Root}'");
            }

            foreach (var member in Members)
            {
                // A missing field is an evaluation error in CEL; a rule that cannot be evaluated does not match.
                node = node is JsonObject obj && obj.TryGetPropertyValue(member, out var child)
                    ? child
                    : throw new KeyNotFoundException($"no such key: {member}");
            }

            return FromJson(node);
        }

#pragma warning disable CA1859 // the result is a CEL value (bool, string, long, double, null or a node), not always a node
        private static object? FromJson(JsonNode? node)
        {
            if (node is not JsonValue v)
            {
                return node;
            }

            // Typed as object: JsonNode's implicit conversions would otherwise wrap every arm back into a node.
            return v.GetValueKind() switch
            {
                System.Text.Json.JsonValueKind.True => (object?)true,
                System.Text.Json.JsonValueKind.False => false,
                System.Text.Json.JsonValueKind.String => v.GetValue<string>(),
                System.Text.Json.JsonValueKind.Number => v.TryGetValue<long>(out var l) ? l : (object)v.GetValue<double>(),
                System.Text.Json.JsonValueKind.Null => null,
                _ => (object?)node,
            };
        }
#pragma warning restore CA1859
    }

    private sealed record Not(Node Operand) : Node
    {
        public override object? Eval(IReadOnlyDictionary<string, JsonNode?> vars) =>
            Operand.Eval(vars) is bool b ? !b : throw new InvalidOperationException("'!' needs a bool");
    }

    private sealed record Logical(bool IsAnd, Node Left, Node Right) : Node
    {
        public override object? Eval(IReadOnlyDictionary<string, JsonNode?> vars)
        {
            // CEL's && and || are commutative about errors: an error on one side is absorbed when
            // the other side decides the result.
            object? left;
            try
            {
                left = Left.Eval(vars);
            }
            catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException)
            {
                var right = Right.Eval(vars);
                if (right is bool rb && rb != IsAnd)
                {
                    return rb;
                }

                throw;
            }

            if (left is not bool lb)
            {
                throw new InvalidOperationException("logical operator needs bools");
            }

            if (lb != IsAnd)
            {
                return lb;
            }

            return Right.Eval(vars) is bool r ? r : throw new InvalidOperationException("logical operator needs bools");
        }
    }

    private sealed record Compare(string Op, Node Left, Node Right) : Node
    {
        public override object? Eval(IReadOnlyDictionary<string, JsonNode?> vars)
        {
            var l = Left.Eval(vars);
            var r = Right.Eval(vars);
            if (Op is "==" or "!=")
            {
                var equal = ValuesEqual(l, r);
                return Op == "==" ? equal : !equal;
            }

            int cmp = (l, r) switch
            {
                (string a, string b) => string.CompareOrdinal(a, b),
                _ when IsNumber(l) && IsNumber(r) => Convert.ToDouble(l, CultureInfo.InvariantCulture).CompareTo(Convert.ToDouble(r, CultureInfo.InvariantCulture)),
                _ => throw new InvalidOperationException($"no such overload for '{Op}'"),
            };
            return Op switch
            {
                "<" => cmp < 0,
                "<=" => cmp <= 0,
                ">" => cmp > 0,
                _ => cmp >= 0,
            };
        }

        private static bool IsNumber(object? v) => v is long or double;

        private static bool ValuesEqual(object? l, object? r)
        {
            if (IsNumber(l) && IsNumber(r))
            {
                return Convert.ToDouble(l, CultureInfo.InvariantCulture) == Convert.ToDouble(r, CultureInfo.InvariantCulture);
            }

            return Equals(l, r);
        }
    }

    private sealed record Token(string Kind, string Text);

    private static List<Token> Tokenize(string text)
    {
        var tokens = new List<Token>();
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
            }
            else if (c is '"' or '\'')
            {
                var sb = new StringBuilder();
                i++;
                while (i < text.Length && text[i] != c)
                {
                    if (text[i] == '\\' && i + 1 < text.Length)
                    {
                        i++;
                        sb.Append(text[i] switch { 'n' => '\n', 't' => '\t', _ => text[i] });
                    }
                    else
                    {
                        sb.Append(text[i]);
                    }

                    i++;
                }

                if (i >= text.Length)
                {
                    throw new FormatException($"unterminated string in CEL expression '{text}'");
                }

                i++;
                tokens.Add(new Token("str", sb.ToString()));
            }
            else if (char.IsDigit(c))
            {
                var start = i;
                while (i < text.Length && (char.IsDigit(text[i]) || text[i] == '.'))
                {
                    i++;
                }

                tokens.Add(new Token("num", text[start..i]));
            }
            else if (char.IsLetter(c) || c == '_')
            {
                var start = i;
                while (i < text.Length && (char.IsLetterOrDigit(text[i]) || text[i] == '_'))
                {
                    i++;
                }

                tokens.Add(new Token("id", text[start..i]));
            }
            else
            {
                var two = i + 1 < text.Length ? text.Substring(i, 2) : "";
                if (two is "==" or "!=" or "<=" or ">=" or "&&" or "||")
                {
                    tokens.Add(new Token("op", two));
                    i += 2;
                }
                else if (c is '<' or '>' or '!' or '(' or ')' or '.' or '[' or ']')
                {
                    tokens.Add(new Token("op", c.ToString()));
                    i++;
                }
                else
                {
                    throw new FormatException($"unsupported character '{c}' in CEL expression '{text}' (the dev sidecar supports ==, !=, <, <=, >, >=, &&, ||, ! and member access)");
                }
            }
        }

        return tokens;
    }

    private sealed class Parser(List<Token> tokens, string[] allowedRoots, string text)
    {
        private int _pos;

        private Token? Peek => _pos < tokens.Count ? tokens[_pos] : null;

        private bool Accept(string op)
        {
            if (Peek is { Kind: "op" } t && t.Text == op)
            {
                _pos++;
                return true;
            }

            return false;
        }

        private FormatException Error(string what) =>
            new($"unsupported CEL expression '{text}': {what} (the dev sidecar supports ==, !=, <, <=, >, >=, &&, ||, ! and member access on {string.Join(", ", allowedRoots)})");

        public void ExpectEnd()
        {
            if (Peek is not null)
            {
                throw Error($"unexpected '{Peek.Text}'");
            }
        }

        public Node ParseOr()
        {
            var left = ParseAnd();
            while (Accept("||"))
            {
                left = new Logical(false, left, ParseAnd());
            }

            return left;
        }

        private Node ParseAnd()
        {
            var left = ParseRelation();
            while (Accept("&&"))
            {
                left = new Logical(true, left, ParseRelation());
            }

            return left;
        }

        private Node ParseRelation()
        {
            var left = ParseUnary();
            foreach (var op in new[] { "==", "!=", "<=", ">=", "<", ">" })
            {
                if (Accept(op))
                {
                    return new Compare(op, left, ParseUnary());
                }
            }

            return left;
        }

        private Node ParseUnary()
        {
            if (Accept("!"))
            {
                return new Not(ParseUnary());
            }

            if (Accept("("))
            {
                var inner = ParseOr();
                if (!Accept(")"))
                {
                    throw Error("missing ')'");
                }

                return inner;
            }

            var token = Peek ?? throw Error("unexpected end");
            _pos++;
            switch (token.Kind)
            {
                case "str":
                    return new Literal(token.Text);
                case "num":
                    return token.Text.Contains('.', StringComparison.Ordinal)
                        ? new Literal(double.Parse(token.Text, CultureInfo.InvariantCulture))
                        : new Literal(long.Parse(token.Text, CultureInfo.InvariantCulture));
                case "id" when token.Text is "true" or "false":
                    return new Literal(token.Text == "true");
                case "id" when token.Text == "null":
                    return new Literal(null);
                case "id":
                    if (!allowedRoots.Contains(token.Text))
                    {
                        throw Error($"undeclared reference to '{token.Text}'");
                    }

                    var members = new List<string>();
                    while (true)
                    {
                        if (Accept("."))
                        {
                            var member = Peek is { Kind: "id" } m ? m : throw Error("member name expected after '.'");
                            _pos++;
                            if (Peek is { Kind: "op", Text: "(" })
                            {
                                throw Error($"function calls such as '{member.Text}()' are not supported");
                            }

                            members.Add(member.Text);
                        }
                        else if (Accept("["))
                        {
                            var key = Peek is { Kind: "str" } k ? k : throw Error("string index expected");
                            _pos++;
                            if (!Accept("]"))
                            {
                                throw Error("missing ']'");
                            }

                            members.Add(key.Text);
                        }
                        else
                        {
                            break;
                        }
                    }

                    return new Path(token.Text, members);
                default:
                    throw Error($"unexpected '{token.Text}'");
            }
        }
    }
}
