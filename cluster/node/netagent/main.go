// netagent gives one node of the hermetic kind cluster its pod network, the
// job kind's kindnetd does on the standard path:
//   - the CNI config (ptp + host-local) for this node's podCIDR, so the
//     kubelet turns Ready once the agent has run;
//   - a route to every other node's podCIDR via that node's InternalIP (all
//     nodes share one Docker network, so no encapsulation is needed);
//   - masquerade for pod traffic that leaves the cluster's pod subnet, while
//     pod-to-pod traffic keeps its source address (NetworkPolicy needs it).
//
// It reconciles on every Node event and every 30 s; commands run through
// iproute2 and iptables from its image.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

const (
	// routeProto marks the routes this agent owns, so stale ones can be found.
	routeProto = "91"
	masqChain  = "MOORAGE-MASQ"
	resync     = 30 * time.Second
)

type agent struct {
	nodeName  string
	podSubnet string // the whole cluster's pod subnet: never masqueraded
	cniFile   string
	nodes     listersv1.NodeLister
}

func main() {
	a := agent{
		nodeName:  mustEnv("NODE_NAME"),
		podSubnet: mustEnv("POD_SUBNET"),
		cniFile:   envOr("CNI_CONFIG_FILE", "/etc/cni/net.d/10-moorage.conflist"),
	}
	cfg, err := rest.InClusterConfig()
	if err != nil {
		log.Fatalf("in-cluster config: %v", err)
	}
	// kind passes the API server's own address: the Service's ClusterIP only
	// works once kube-proxy has written its rules.
	if ep := os.Getenv("CONTROL_PLANE_ENDPOINT"); ep != "" {
		cfg.Host = "https://" + ep
	}
	client := kubernetes.NewForConfigOrDie(cfg)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	factory := informers.NewSharedInformerFactory(client, 0)
	nodeInformer := factory.Core().V1().Nodes()
	a.nodes = nodeInformer.Lister()
	wake := make(chan struct{}, 1)
	poke := func(any) {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	if _, err := nodeInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    poke,
		UpdateFunc: func(_, n any) { poke(n) },
		DeleteFunc: poke,
	}); err != nil {
		log.Fatalf("node informer: %v", err)
	}
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), nodeInformer.Informer().HasSynced) {
		log.Fatal("node cache never synced")
	}
	log.Printf("netagent on node %s, cluster pod subnet %s", a.nodeName, a.podSubnet)

	ticker := time.NewTicker(resync)
	defer ticker.Stop()
	for {
		if err := a.reconcile(); err != nil {
			log.Printf("reconcile: %v", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-ticker.C:
		}
	}
}

func (a *agent) reconcile() error {
	nodes, err := a.nodes.List(labels.Everything())
	if err != nil {
		return err
	}
	want := map[string]string{} // podCIDR -> next hop
	var own []string
	for _, n := range nodes {
		cidrs := ipv4CIDRs(n)
		if n.Name == a.nodeName {
			own = cidrs
			continue
		}
		ip := internalIPv4(n)
		if ip == "" {
			continue
		}
		for _, c := range cidrs {
			want[c] = ip
		}
	}
	if len(own) == 0 {
		return fmt.Errorf("node %s has no IPv4 podCIDR yet", a.nodeName)
	}
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644); err != nil {
		return fmt.Errorf("enable forwarding: %w", err)
	}
	if err := a.writeCNIConfig(own); err != nil {
		return err
	}
	if err := syncRoutes(want); err != nil {
		return err
	}
	return a.syncMasquerade()
}

func (a *agent) writeCNIConfig(cidrs []string) error {
	ranges := make([][]map[string]string, 0, len(cidrs))
	for _, c := range cidrs {
		ranges = append(ranges, []map[string]string{{"subnet": c}})
	}
	conf := map[string]any{
		"cniVersion": "0.4.0",
		"name":       "moorage",
		"plugins": []any{
			map[string]any{
				"type":   "ptp",
				"ipMasq": false, // masquerade is ours: pod-to-pod keeps the source
				"mtu":    1500,
				"ipam": map[string]any{
					"type":   "host-local",
					"ranges": ranges,
					"routes": []map[string]string{{"dst": "0.0.0.0/0"}},
				},
			},
			map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}},
		},
	}
	data, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return err
	}
	if old, err := os.ReadFile(a.cniFile); err == nil && bytes.Equal(old, data) {
		return nil
	}
	tmp := filepath.Join(filepath.Dir(a.cniFile), ".netagent.tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, a.cniFile); err != nil {
		return err
	}
	log.Printf("wrote %s for %s", a.cniFile, strings.Join(cidrs, ","))
	return nil
}

func syncRoutes(want map[string]string) error {
	out, err := run("ip", "-4", "route", "show", "proto", routeProto)
	if err != nil {
		return err
	}
	have := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[1] == "via" {
			have[f[0]] = f[2]
		}
	}
	for cidr, via := range want {
		if have[cidr] == via {
			continue
		}
		if _, err := run("ip", "-4", "route", "replace", cidr, "via", via, "proto", routeProto); err != nil {
			return err
		}
		log.Printf("route %s via %s", cidr, via)
	}
	for cidr := range have {
		if _, ok := want[cidr]; !ok {
			if _, err := run("ip", "-4", "route", "del", cidr, "proto", routeProto); err != nil {
				return err
			}
			log.Printf("removed route %s", cidr)
		}
	}
	return nil
}

// syncMasquerade keeps: POSTROUTING -s <pod subnet> -> MOORAGE-MASQ, which
// returns for destinations inside the pod subnet and masquerades the rest.
func (a *agent) syncMasquerade() error {
	rules := [][]string{
		{"-d", a.podSubnet, "-j", "RETURN"},
		{"-m", "addrtype", "!", "--dst-type", "LOCAL", "-j", "MASQUERADE"},
	}
	if _, err := run("iptables", "-w", "-t", "nat", "-S", masqChain); err != nil {
		if _, err := run("iptables", "-w", "-t", "nat", "-N", masqChain); err != nil {
			return err
		}
	}
	current, err := run("iptables", "-w", "-t", "nat", "-S", masqChain)
	if err != nil {
		return err
	}
	var wantSpec []string
	for _, r := range rules {
		wantSpec = append(wantSpec, "-A "+masqChain+" "+strings.Join(r, " "))
	}
	var haveSpec []string
	for _, line := range strings.Split(strings.TrimSpace(current), "\n") {
		if strings.HasPrefix(line, "-A ") {
			haveSpec = append(haveSpec, line)
		}
	}
	if strings.Join(haveSpec, "\n") != strings.Join(wantSpec, "\n") {
		if _, err := run("iptables", "-w", "-t", "nat", "-F", masqChain); err != nil {
			return err
		}
		for _, r := range rules {
			if _, err := run("iptables", append([]string{"-w", "-t", "nat", "-A", masqChain}, r...)...); err != nil {
				return err
			}
		}
		log.Printf("masquerade rules for %s written", a.podSubnet)
	}
	jump := []string{"POSTROUTING", "-s", a.podSubnet, "-m", "comment", "--comment", "moorage pod masquerade", "-j", masqChain}
	if _, err := run("iptables", append([]string{"-w", "-t", "nat", "-C"}, jump...)...); err != nil {
		_, err = run("iptables", append([]string{"-w", "-t", "nat", "-A"}, jump...)...)
		return err
	}
	return nil
}

func ipv4CIDRs(n *corev1.Node) []string {
	cidrs := n.Spec.PodCIDRs
	if len(cidrs) == 0 && n.Spec.PodCIDR != "" {
		cidrs = []string{n.Spec.PodCIDR}
	}
	var out []string
	for _, c := range cidrs {
		if ip, _, err := net.ParseCIDR(c); err == nil && ip.To4() != nil {
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out
}

func internalIPv4(n *corev1.Node) string {
	for _, addr := range n.Status.Addresses {
		if addr.Type != corev1.NodeInternalIP {
			continue
		}
		if ip := net.ParseIP(addr.Address); ip != nil && ip.To4() != nil {
			return addr.Address
		}
	}
	return ""
}

func run(name string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

func mustEnv(k string) string {
	v := os.Getenv(k)
	if v == "" {
		log.Fatalf("%s is not set", k)
	}
	return v
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
