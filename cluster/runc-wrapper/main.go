// Command runc-wrapper runs the real runc after adjusting the OCI spec so that
// containers start on hosts where even root lacks CAP_SYS_RESOURCE (some
// micro-VMs). Without it, runc fails privileged containers with
// "unable to apply caps" because it cannot grant a capability it does not hold.
//
// It edits <bundle>/config.json on create/run and the --process file on exec:
//   - drops CAP_SYS_RESOURCE from every capability set when we do not hold it;
//   - raises oomScoreAdj to our own value (lowering it also needs the capability);
//   - drops rlimits whose hard limit exceeds ours (raising one needs it too).
//
// The real runc is REAL_RUNC (default /usr/sbin/runc).
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

const capSysResource = 24

func main() {
	real := os.Getenv("REAL_RUNC")
	if real == "" {
		real = "/usr/sbin/runc"
	}
	args := os.Args[1:]
	if !holdsSysResource() {
		if err := adjust(args); err != nil {
			fmt.Fprintf(os.Stderr, "runc-wrapper: %v\n", err)
			os.Exit(1)
		}
	}
	argv := append([]string{real}, args...)
	if err := syscall.Exec(real, argv, os.Environ()); err != nil {
		fmt.Fprintf(os.Stderr, "runc-wrapper: exec %s: %v\n", real, err)
		os.Exit(1)
	}
}

// holdsSysResource reports whether CAP_SYS_RESOURCE is in our bounding set.
func holdsSysResource() bool {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return true
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err != nil || mask&(1<<capSysResource) != 0
		}
	}
	return true
}

// adjust finds the sub-command and the spec file it reads, then rewrites it.
func adjust(args []string) error {
	cmd, idx := subcommand(args)
	rest := args[idx+1:]
	switch cmd {
	case "create", "run":
		bundle := flagValue(rest, "--bundle", "-b")
		if bundle == "" {
			bundle = "."
		}
		return rewrite(bundle+"/config.json", true)
	case "exec":
		if p := flagValue(rest, "--process", "-p"); p != "" {
			return rewrite(p, false)
		}
	}
	return nil
}

// globalWithValue lists runc's global flags that take a separate value.
var globalWithValue = map[string]bool{"--root": true, "--log": true, "--log-format": true, "--criu": true, "--rootless": true}

func subcommand(args []string) (string, int) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") {
			if globalWithValue[a] {
				i++
			}
			continue
		}
		return a, i
	}
	return "", len(args) - 1
}

func flagValue(args []string, long, short string) string {
	for i, a := range args {
		if (a == long || a == short) && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, long+"="); ok {
			return v
		}
	}
	return ""
}

func rewrite(path string, isBundle bool) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	proc := doc
	if isBundle {
		p, ok := doc["process"].(map[string]any)
		if !ok {
			return nil
		}
		proc = p
	}
	fixProcess(proc)
	out, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, st.Mode().Perm())
}

func fixProcess(proc map[string]any) {
	if caps, ok := proc["capabilities"].(map[string]any); ok {
		for set, list := range caps {
			items, ok := list.([]any)
			if !ok {
				continue
			}
			kept := items[:0]
			for _, c := range items {
				if c != "CAP_SYS_RESOURCE" {
					kept = append(kept, c)
				}
			}
			caps[set] = kept
		}
	}
	if own, ok := ownOOMScoreAdj(); ok {
		if v, ok := proc["oomScoreAdj"].(json.Number); ok {
			if n, err := v.Int64(); err == nil && n < own {
				proc["oomScoreAdj"] = own
			}
		}
	}
	if rl, ok := proc["rlimits"].([]any); ok {
		kept := rl[:0]
		for _, r := range rl {
			if m, ok := r.(map[string]any); ok && !exceedsOwnHard(m) {
				kept = append(kept, r)
			}
		}
		proc["rlimits"] = kept
	}
}

func ownOOMScoreAdj() (int64, bool) {
	data, err := os.ReadFile("/proc/self/oom_score_adj")
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	return n, err == nil
}

var rlimitNumbers = map[string]int{
	"RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2, "RLIMIT_STACK": 3, "RLIMIT_CORE": 4,
	"RLIMIT_RSS": 5, "RLIMIT_NPROC": 6, "RLIMIT_NOFILE": 7, "RLIMIT_MEMLOCK": 8, "RLIMIT_AS": 9,
	"RLIMIT_LOCKS": 10, "RLIMIT_SIGPENDING": 11, "RLIMIT_MSGQUEUE": 12, "RLIMIT_NICE": 13,
	"RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": 15,
}

func exceedsOwnHard(m map[string]any) bool {
	name, _ := m["type"].(string)
	num, ok := rlimitNumbers[name]
	if !ok {
		return false
	}
	hard, ok := m["hard"].(json.Number)
	if !ok {
		return false
	}
	want, err := strconv.ParseUint(hard.String(), 10, 64)
	if err != nil {
		return false
	}
	var cur syscall.Rlimit
	if err := syscall.Getrlimit(num, &cur); err != nil {
		return false
	}
	return want > cur.Max
}
