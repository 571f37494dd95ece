// Package kubernetes holds the example Kubernetes manifests (the account
// service; the watchdog as 3 replicas on PostgreSQL, with its ConfigMap,
// PodDisruptionBudget and Service) and the test that validates them: every manifest is decoded
// strictly (an unknown or duplicated field is an error, as `kubectl apply
// --validate=strict` would say) into the k8s.io/api types, then checked for
// what matters: each probe asks the health endpoint of its role on the port
// the service listens on, the startup probe exists, the image is the one the
// Dockerfile builds, resources are bounded, and the Service reaches the pods;
// the watchdog's ConfigMap passes `vitals validate`, its secrets come from a
// Secret, its PodDisruptionBudget lets a drain proceed; then each probe of
// the account service is run, as the kubelet would, against the real
// service (the watchdog's, which need PostgreSQL, in e2e/ha_test.go). It
// is a module of its own so that the library's go.mod does not carry the
// Kubernetes modules.
package kubernetes

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8sjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/util/intstr"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/vitals-go/vitals/health"
)

// app is what the test knows of one Deployment's program.
type app struct {
	// image is the image the Deployment must run; dockerfile builds it,
	// and its COPY lines say which files an exec probe may call.
	image      *regexp.Regexp
	dockerfile string
	// listenEnv is the variable that sets the address the program
	// listens on, listen its value in the image.
	listenEnv, listen string
	// drain is how long the program serves after SIGTERM: the pod's
	// termination grace period must cover it and the shutdown after it.
	drain time.Duration
	// secrets are variables that must come from a Secret, never a value.
	secrets []string
}

// apps are the programs, by image repository.
var apps = map[string]app{
	// drain: the account service's default -drain.
	"vitals/accountservice": {image: regexp.MustCompile(`^vitals/accountservice:[A-Za-z0-9_][A-Za-z0-9_.-]*$`),
		dockerfile: "../../examples/accountservice/Dockerfile", listenEnv: "ADDR", listen: ":8080", drain: 5 * time.Second},
	// drain: the ConfigMap's drain_period plus shutdown_timeout.
	"vitals/watchdog": {image: regexp.MustCompile(`^vitals/watchdog:[A-Za-z0-9_][A-Za-z0-9_.-]*$`),
		dockerfile: "../../cmd/vitals/Dockerfile", listenEnv: "VITALS_LISTEN", listen: ":8000", drain: 15 * time.Second,
		secrets: []string{"VITALS_PG_DSN", "VITALS_API_KEY", "VITALS_PING_KEY"}},
}

// object is one decoded manifest document.
type object struct {
	where string // file#index kind/name, for messages
	obj   runtime.Object
}

// decodeAll decodes every document of every *.yaml file in this directory
// with the API machinery's own serializer in strict mode: unknown fields,
// duplicated fields and kinds outside apps/v1, policy/v1 and v1 are errors.
func decodeAll(t *testing.T) []object {
	t.Helper()
	ser := strictDecoder(t)
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	var objs []object
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		r := k8syaml.NewYAMLReader(bufio.NewReader(f))
		for i := 0; ; i++ {
			doc, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if len(bytes.TrimSpace(stripComments(doc))) == 0 {
				continue
			}
			obj, gvk, err := ser.Decode(doc, nil, nil)
			if err != nil {
				// A strict decoding error still returns the object:
				// report it and go on, so every problem shows at once.
				t.Errorf("%s document %d: %v", file, i, err)
				if obj == nil {
					continue
				}
			}
			name := ""
			if m, ok := obj.(interface{ GetName() string }); ok {
				name = m.GetName()
			}
			objs = append(objs, object{where: fmt.Sprintf("%s#%d %s/%s", file, i, gvk.Kind, name), obj: obj})
		}
		f.Close()
	}
	return objs
}

// strictDecoder is the API machinery's own YAML serializer in strict mode,
// knowing the kinds of apps/v1, policy/v1 and v1.
func strictDecoder(t *testing.T) runtime.Decoder {
	t.Helper()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{appsv1.AddToScheme, corev1.AddToScheme, policyv1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	return k8sjson.NewSerializerWithOptions(k8sjson.DefaultMetaFactory, scheme, scheme,
		k8sjson.SerializerOptions{Yaml: true, Strict: true})
}

func stripComments(doc []byte) []byte {
	var out []byte
	for line := range bytes.Lines(doc) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			out = append(out, line...)
		}
	}
	return out
}

// TestStrictDecodingCatchesTypos shows the decoder is strict: a misspelt
// field of a probe is an error, not silently dropped.
func TestStrictDecodingCatchesTypos(t *testing.T) {
	ser := strictDecoder(t)
	doc := []byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: x}
spec:
  selector: {matchLabels: {app: x}}
  template:
    metadata: {labels: {app: x}}
    spec:
      containers:
        - name: x
          image: x:1
          livenessProbe: {httpGet: {path: /livez, port: 8080}, periodSecond: 10}
`)
	if _, _, err := ser.Decode(doc, nil, nil); err == nil || !strings.Contains(err.Error(), "periodSecond") {
		t.Fatalf("misspelt periodSeconds: err %v, want an unknown field error naming it", err)
	}
}

func TestManifests(t *testing.T) {
	objs := decodeAll(t)
	served := servedPaths(t)
	var deployments []*appsv1.Deployment
	var services, budgets []object
	configMaps := map[string]*corev1.ConfigMap{}
	for _, o := range objs {
		switch v := o.obj.(type) {
		case *appsv1.Deployment:
			deployments = append(deployments, v)
			a, ok := appOf(v)
			if !ok {
				t.Errorf("%s: runs no image of apps: add it there", o.where)
				continue
			}
			checkDeployment(t, o.where, v, a, imageFiles(t, a.dockerfile), served)
		case *corev1.Service:
			services = append(services, o)
		case *policyv1.PodDisruptionBudget:
			budgets = append(budgets, o)
		case *corev1.ConfigMap:
			configMaps[v.Name] = v
		default:
			t.Errorf("%s: no check for this kind: add one to this test", o.where)
		}
	}
	if len(deployments) == 0 {
		t.Fatal("no Deployment in deploy/kubernetes")
	}
	for _, o := range services {
		checkService(t, o.where, o.obj.(*corev1.Service), deployments)
	}
	for _, o := range budgets {
		checkBudget(t, o.where, o.obj.(*policyv1.PodDisruptionBudget), deployments)
	}
	for _, d := range deployments {
		checkVolumes(t, d, configMaps)
	}
}

// TestWatchdogHA: the watchdog runs as 3 replicas, with a
// PodDisruptionBudget keeping 2 through voluntary disruptions (SPEC §5,
// docs/ha.md).
func TestWatchdogHA(t *testing.T) {
	var d *appsv1.Deployment
	var pdb *policyv1.PodDisruptionBudget
	for _, o := range decodeAll(t) {
		switch v := o.obj.(type) {
		case *appsv1.Deployment:
			if v.Name == "vitals-watchdog" {
				d = v
			}
		case *policyv1.PodDisruptionBudget:
			if v.Name == "vitals-watchdog" {
				pdb = v
			}
		}
	}
	if d == nil || pdb == nil {
		t.Fatalf("want the Deployment and the PodDisruptionBudget vitals-watchdog (found %v, %v)", d != nil, pdb != nil)
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 3 {
		t.Errorf("replicas %v, want 3", d.Spec.Replicas)
	}
	if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.String() != "2" {
		t.Errorf("minAvailable %v, want 2", pdb.Spec.MinAvailable)
	}
}

// appOf returns the app of d's first container's image.
func appOf(d *appsv1.Deployment) (app, bool) {
	if len(d.Spec.Template.Spec.Containers) == 0 {
		return app{}, false
	}
	repo, _, _ := strings.Cut(d.Spec.Template.Spec.Containers[0].Image, ":")
	a, ok := apps[repo]
	return a, ok
}

// checkBudget: a PodDisruptionBudget selects the pods of a Deployment and
// lets at least one of them go (minAvailable below replicas), or a node
// drain would wait forever.
func checkBudget(t *testing.T, where string, b *policyv1.PodDisruptionBudget, deployments []*appsv1.Deployment) {
	if b.Spec.Selector == nil || len(b.Spec.Selector.MatchLabels) == 0 {
		t.Errorf("%s: no selector", where)
		return
	}
	var target *appsv1.Deployment
	for _, d := range deployments {
		match := true
		for k, v := range b.Spec.Selector.MatchLabels {
			match = match && d.Spec.Template.Labels[k] == v
		}
		if match {
			target = d
		}
	}
	if target == nil {
		t.Errorf("%s: selector %v matches no Deployment's pods", where, b.Spec.Selector.MatchLabels)
		return
	}
	if b.Spec.MinAvailable == nil || b.Spec.MinAvailable.Type != intstr.Int {
		t.Errorf("%s: want minAvailable as a number", where)
		return
	}
	if replicas := target.Spec.Replicas; replicas == nil || b.Spec.MinAvailable.IntValue() >= int(*replicas) {
		t.Errorf("%s: minAvailable %d leaves no pod of %s to evict (replicas %v): node drains would block", where, b.Spec.MinAvailable.IntValue(), target.Name, replicas)
	}
}

// checkVolumes: every ConfigMap a Deployment mounts is among the manifests.
func checkVolumes(t *testing.T, d *appsv1.Deployment, configMaps map[string]*corev1.ConfigMap) {
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.ConfigMap != nil && configMaps[v.ConfigMap.Name] == nil {
			t.Errorf("Deployment %s: volume %s mounts ConfigMap %s, which no manifest defines", d.Name, v.Name, v.ConfigMap.Name)
		}
	}
}

// roles maps each probe of a container to the health endpoint it must ask:
// a liveness probe on /readyz or /healthz would restart every pod when the
// database is down, which a restart does not fix.
var roles = []struct {
	name  string
	probe func(*corev1.Container) *corev1.Probe
	path  string
}{
	{"startupProbe", func(c *corev1.Container) *corev1.Probe { return c.StartupProbe }, "/startupz"},
	{"livenessProbe", func(c *corev1.Container) *corev1.Probe { return c.LivenessProbe }, "/livez"},
	{"readinessProbe", func(c *corev1.Container) *corev1.Probe { return c.ReadinessProbe }, "/readyz"},
}

func checkDeployment(t *testing.T, where string, d *appsv1.Deployment, a app, copied []string, served map[string]bool) {
	tmpl := d.Spec.Template
	if d.Spec.Selector == nil {
		t.Errorf("%s: no selector", where)
	} else {
		for k, v := range d.Spec.Selector.MatchLabels {
			if tmpl.Labels[k] != v {
				t.Errorf("%s: selector %s=%s does not match the pod template's labels %v", where, k, v, tmpl.Labels)
			}
		}
	}
	if g := tmpl.Spec.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second <= a.drain {
		t.Errorf("%s: terminationGracePeriodSeconds must exceed the program's %v drain and shutdown", where, a.drain)
	}
	if len(tmpl.Spec.Containers) == 0 {
		t.Errorf("%s: no containers", where)
	}
	for i := range tmpl.Spec.Containers {
		c := &tmpl.Spec.Containers[i]
		at := fmt.Sprintf("%s container %s", where, c.Name)
		if !a.image.MatchString(c.Image) {
			t.Errorf("%s: image %q, want %s (the image %s builds)", at, c.Image, a.image, a.dockerfile)
		}
		for _, name := range a.secrets {
			i := slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == name })
			if i < 0 || c.Env[i].Value != "" || c.Env[i].ValueFrom == nil || c.Env[i].ValueFrom.SecretKeyRef == nil {
				t.Errorf("%s: %s must come from a Secret (valueFrom.secretKeyRef), never a value in the manifest", at, name)
			}
		}
		// No registry serves the image: it is built and loaded into the
		// nodes (kind load docker-image, or a private registry's copy).
		if c.ImagePullPolicy != corev1.PullIfNotPresent && c.ImagePullPolicy != corev1.PullNever {
			t.Errorf("%s: imagePullPolicy %q, want IfNotPresent (with :latest the default is Always, which fails for a locally built image)", at, c.ImagePullPolicy)
		}
		checkResources(t, at, c.Resources)
		listen := containerAddr(t, at, a, c)
		for _, r := range roles {
			p := r.probe(c)
			if p == nil {
				t.Errorf("%s: no %s (want %s)", at, r.name, r.path)
				continue
			}
			checkProbe(t, at+" "+r.name, c, p, r.path, listen, copied, served)
		}
	}
}

// checkResources: requests for scheduling and limits for both CPU and
// memory, each request within its limit.
func checkResources(t *testing.T, at string, res corev1.ResourceRequirements) {
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, okReq := res.Requests[name]
		lim, okLim := res.Limits[name]
		if !okReq || !okLim {
			t.Errorf("%s: resources.requests.%s and resources.limits.%s are both required", at, name, name)
			continue
		}
		if req.Cmp(lim) > 0 {
			t.Errorf("%s: %s request %s above its limit %s", at, name, req.String(), lim.String())
		}
	}
}

// containerAddr returns the host and port the program listens on inside
// the container: its listen variable (the Dockerfile's default otherwise).
func containerAddr(t *testing.T, at string, a app, c *corev1.Container) (hostPort [2]string) {
	addr := a.listen
	for _, e := range c.Env {
		if e.Name == a.listenEnv {
			addr = e.Value
		}
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Errorf("%s: %s %q: %v", at, a.listenEnv, addr, err)
	}
	return [2]string{host, port}
}

func checkProbe(t *testing.T, at string, c *corev1.Container, p *corev1.Probe, want string, listen [2]string, copied []string, served map[string]bool) {
	timeout := time.Duration(max(p.TimeoutSeconds, 1)) * time.Second // the kubelet's default is 1s
	switch {
	case p.HTTPGet != nil:
		if p.HTTPGet.Path != want {
			t.Errorf("%s: path %q, want %q", at, p.HTTPGet.Path, want)
		}
		if !served[p.HTTPGet.Path] {
			t.Errorf("%s: the health library serves no %q", at, p.HTTPGet.Path)
		}
		if listen[0] != "" && listen[0] != "0.0.0.0" && listen[0] != "::" {
			t.Errorf("%s: the service listens on %s only, which the kubelet's HTTP probe cannot reach: use an exec probe", at, listen[0])
		}
		port := portNumber(c, p.HTTPGet.Port)
		if port == "" {
			t.Errorf("%s: port %s is not a port of the container", at, p.HTTPGet.Port.String())
		} else if port != listen[1] {
			t.Errorf("%s: port %s (%s) but the service listens on port %s (ADDR)", at, p.HTTPGet.Port.String(), port, listen[1])
		}
	case p.Exec != nil:
		cmd := p.Exec.Command
		if len(cmd) < 2 {
			t.Errorf("%s: exec %q: want [/healthprobe, flags..., URL]", at, cmd)
			return
		}
		if !slices.Contains(copied, cmd[0]) {
			t.Errorf("%s: %s is not in the image (the Dockerfile copies %v)", at, cmd[0], copied)
		}
		u, err := url.Parse(cmd[len(cmd)-1])
		if err != nil || u.Scheme != "http" {
			t.Errorf("%s: last argument %q is not an http:// URL", at, cmd[len(cmd)-1])
			return
		}
		if u.Path != want || !served[u.Path] {
			t.Errorf("%s: path %q, want %q", at, u.Path, want)
		}
		if h, port := u.Hostname(), u.Port(); port != listen[1] || (listen[0] != "" && listen[0] != h) {
			t.Errorf("%s: probes %s but the service listens on %s", at, u.Host, net.JoinHostPort(listen[0], listen[1]))
		}
		for _, arg := range cmd[1 : len(cmd)-1] {
			if v, ok := strings.CutPrefix(arg, "-timeout="); ok {
				d, err := time.ParseDuration(v)
				if err != nil {
					t.Errorf("%s: %s: %v", at, arg, err)
				} else if d >= timeout {
					t.Errorf("%s: healthprobe %s is not below the probe's timeoutSeconds (%v): the kubelet kills it first and reports a timeout instead of its reason", at, arg, timeout)
				}
			}
		}
	default:
		t.Errorf("%s: neither httpGet nor exec", at)
	}
	if p.PeriodSeconds == 0 || p.FailureThreshold == 0 {
		t.Errorf("%s: set periodSeconds and failureThreshold (the defaults, 10s × 3, are not a choice)", at)
	}
}

// portNumber resolves a probe's port (a number, or the name of one of the
// container's ports) to its number, "" when it names no port.
func portNumber(c *corev1.Container, p intstr.IntOrString) string {
	if p.Type == intstr.Int {
		return p.String()
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return fmt.Sprint(cp.ContainerPort)
		}
	}
	return ""
}

func checkService(t *testing.T, where string, s *corev1.Service, deployments []*appsv1.Deployment) {
	var target *appsv1.Deployment
	for _, d := range deployments {
		match := len(s.Spec.Selector) > 0
		for k, v := range s.Spec.Selector {
			match = match && d.Spec.Template.Labels[k] == v
		}
		if match {
			target = d
		}
	}
	if target == nil {
		t.Errorf("%s: selector %v matches no Deployment's pods", where, s.Spec.Selector)
		return
	}
	for _, sp := range s.Spec.Ports {
		found := false
		for i := range target.Spec.Template.Spec.Containers {
			found = found || portNumber(&target.Spec.Template.Spec.Containers[i], sp.TargetPort) != ""
		}
		if !found {
			t.Errorf("%s: targetPort %s is no port of Deployment %s", where, sp.TargetPort.String(), target.Name)
		}
	}
}

// imageFiles returns the destinations of the Dockerfile's final-stage COPY
// lines: the only files a FROM scratch image has for an exec probe.
func imageFiles(t *testing.T, dockerfile string) []string {
	b, err := os.ReadFile(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) > 0 && strings.EqualFold(f[0], "FROM") {
			files = nil // only the last stage ends up in the image
		}
		if len(f) >= 3 && strings.EqualFold(f[0], "COPY") {
			files = append(files, f[len(f)-1])
		}
	}
	if len(files) == 0 {
		t.Fatalf("%s: no COPY in the final stage", dockerfile)
	}
	return files
}

// servedPaths asks the health library's real handler which probe paths it
// serves (answers other than 404).
func servedPaths(t *testing.T) map[string]bool {
	m := health.New(health.Options{})
	var h http.Handler = m
	served := map[string]bool{}
	for _, r := range roles {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, r.path, nil))
		served[r.path] = rec.Code != http.StatusNotFound
	}
	return served
}

// TestProbesAgainstTheService runs the real account service with each
// Deployment's environment (ADDR moved to a free loopback port, DATA_DIR to
// a temporary directory) and runs each of its probes as the kubelet would:
// an httpGet as a GET of its path on its port, an exec as its very command,
// with the image's /healthprobe replaced by one built from this repository.
// Each must pass within 30 seconds, the startup probe first.
func TestProbesAgainstTheService(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the account service")
	}
	bin := buildBinaries(t)
	for _, o := range decodeAll(t) {
		d, ok := o.obj.(*appsv1.Deployment)
		if !ok {
			continue
		}
		if a, _ := appOf(d); a.listenEnv != "ADDR" {
			// The watchdog needs PostgreSQL: the e2e suite runs it on the
			// real one and asks its probes (e2e/ha_test.go).
			continue
		}
		for i := range d.Spec.Template.Spec.Containers {
			c := &d.Spec.Template.Spec.Containers[i]
			t.Run(d.Name+"/"+c.Name, func(t *testing.T) { probeService(t, bin, c) })
		}
	}
}

// buildBinaries builds the service in the repository's examples module and
// healthprobe in its main module (their go.mod files and build cache, not
// this module's) and returns their directory.
func buildBinaries(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, b := range []struct{ dir, pkg string }{{"../../examples", "./accountservice"}, {"../..", "./cmd/healthprobe"}} {
		cmd := exec.Command("go", "build", "-o", dir+"/", b.pkg)
		cmd.Dir = b.dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", b.pkg, err, out)
		}
	}
	return dir
}

func probeService(t *testing.T, bin string, c *corev1.Container) {
	listen := containerAddr(t, c.Name, apps["vitals/accountservice"], c)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	ln.Close()
	env := []string{"ADDR=" + addr, "DATA_DIR=" + t.TempDir()}
	for _, e := range c.Env {
		if e.Name != "ADDR" && e.Name != "DATA_DIR" {
			env = append(env, e.Name+"="+e.Value)
		}
	}
	svc := exec.Command(filepath.Join(bin, "accountservice"))
	svc.Env = env
	var out bytes.Buffer
	svc.Stdout, svc.Stderr = &out, &out
	if err := svc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		svc.Process.Kill()
		svc.Wait()
		if t.Failed() {
			t.Logf("service output:\n%s", out.String())
		}
	})
	for _, r := range roles {
		p := r.probe(c)
		if p == nil {
			continue // reported by TestManifests
		}
		var run func() error
		switch {
		case p.HTTPGet != nil:
			if portNumber(c, p.HTTPGet.Port) != listen[1] {
				continue // reported by TestManifests
			}
			u := "http://" + net.JoinHostPort("127.0.0.1", port) + p.HTTPGet.Path
			run = func() error { return httpProbe(u) }
		case p.Exec != nil && len(p.Exec.Command) > 1:
			args := slices.Clone(p.Exec.Command)
			args[0] = filepath.Join(bin, filepath.Base(args[0]))
			last := &args[len(args)-1]
			*last = strings.Replace(*last, "//"+net.JoinHostPort(listen[0], listen[1])+"/", "//"+addr+"/", 1)
			run = func() error {
				if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
					return fmt.Errorf("%v: %s", err, bytes.TrimSpace(out))
				}
				return nil
			}
		default:
			continue
		}
		deadline := time.Now().Add(30 * time.Second)
		for err := run(); err != nil; err = run() {
			if time.Now().After(deadline) {
				t.Fatalf("%s never passed against the running service: %v", r.name, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// httpProbe is the kubelet's HTTP probe: success is a status from 200 to 399.
func httpProbe(u string) error {
	c := &http.Client{Timeout: 2 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(u)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 399 {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return nil
}

// TestWatchdogConfigValidates: the watchdog's ConfigMap holds a config
// that `vitals validate` (built from this repository) accepts, with the
// Deployment's environment: its values as they are, each variable from a
// Secret set to a stand-in.
func TestWatchdogConfigValidates(t *testing.T) {
	if testing.Short() {
		t.Skip("builds vitals")
	}
	var d *appsv1.Deployment
	configMaps := map[string]*corev1.ConfigMap{}
	for _, o := range decodeAll(t) {
		switch v := o.obj.(type) {
		case *appsv1.Deployment:
			if a, _ := appOf(v); a.listenEnv == "VITALS_LISTEN" {
				d = v
			}
		case *corev1.ConfigMap:
			configMaps[v.Name] = v
		}
	}
	if d == nil {
		t.Fatal("no watchdog Deployment")
	}
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", dir+"/", "./cmd/vitals")
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/vitals: %v\n%s", err, out)
	}
	c := d.Spec.Template.Spec.Containers[0]
	var env []string
	for _, e := range c.Env {
		v := e.Value
		if e.ValueFrom != nil {
			v = "stand-in-secret-0123456789" // long enough for an API key
			if e.Name == "VITALS_PG_DSN" {
				v = "postgres://vitals:secret@127.0.0.1:5432/vitals"
			}
		}
		env = append(env, e.Name+"="+v)
	}
	validated := 0
	for _, vol := range d.Spec.Template.Spec.Volumes {
		if vol.ConfigMap == nil || configMaps[vol.ConfigMap.Name] == nil {
			continue
		}
		for name, body := range configMaps[vol.ConfigMap.Name].Data {
			file := filepath.Join(dir, name)
			if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(filepath.Join(dir, "vitals"), "validate", file)
			cmd.Env = env
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("ConfigMap %s, %s: vitals validate: %v\n%s", vol.ConfigMap.Name, name, err, out)
			}
			validated++
		}
	}
	if validated == 0 {
		t.Error("the watchdog mounts no config from a ConfigMap")
	}
}
