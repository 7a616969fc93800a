// Command promql-check parses PromQL expressions with Prometheus's own parser.
//
// It reads a JSON array of expressions on stdin and writes a JSON array of results: for each
// expression either the parse error or the metric names its selectors read and their label matchers.
package main

import (
	"encoding/json"
	"os"
	"sort"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

type matcher struct {
	Metric string `json:"metric"`
	Label  string `json:"label"`
	Type   string `json:"type"`
	Value  string `json:"value"`
}

type result struct {
	Expr     string    `json:"expr"`
	Error    string    `json:"error,omitempty"`
	Metrics  []string  `json:"metrics"`
	Matchers []matcher `json:"matchers"`
}

func check(expr string) result {
	out := result{Expr: expr, Metrics: []string{}, Matchers: []matcher{}}
	parsed, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		out.Error = err.Error()
		return out
	}
	seen := map[string]bool{}
	parser.Inspect(parsed, func(node parser.Node, _ []parser.Node) error {
		if selector, ok := node.(*parser.VectorSelector); ok {
			for _, m := range selector.LabelMatchers {
				if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
					seen[m.Value] = true
				}
			}
			for _, m := range selector.LabelMatchers {
				if m.Name != labels.MetricName {
					out.Matchers = append(out.Matchers, matcher{selector.Name, m.Name, m.Type.String(), m.Value})
				}
			}
		}
		return nil
	})
	for name := range seen {
		out.Metrics = append(out.Metrics, name)
	}
	sort.Strings(out.Metrics)
	return out
}

func main() {
	var exprs []string
	if err := json.NewDecoder(os.Stdin).Decode(&exprs); err != nil {
		os.Stderr.WriteString("stdin must be a JSON array of strings: " + err.Error() + "\n")
		os.Exit(2)
	}
	results := make([]result, 0, len(exprs))
	for _, expr := range exprs {
		results = append(results, check(expr))
	}
	if err := json.NewEncoder(os.Stdout).Encode(results); err != nil {
		os.Exit(1)
	}
}
